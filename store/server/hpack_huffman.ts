/**
 * The HPACK Huffman code (RFC 7541 Appendix B) for the symbols that may occur in HTTP/2 header values
 * (tab, printable ASCII, 0x80-0xff), as "symbol-hex:code-hex/bit-length". Control characters and EOS are left
 * out: a header block using them is refused by the decoder (hpack.ts). Generated once by feeding Node's own HPACK
 * encoder (nghttp2) one symbol followed by a run of 'a's and reading the code bits back; RFC 7541 C.4 vectors and
 * round trips through Node's encoder are checked in test/store/server/authority_fix.test.ts.
 */
const TABLE = `
09:ffffea/24 20:14/6 21:3f8/10 22:3f9/10 23:ffa/12 24:1ff9/13 25:15/6 26:f8/8 27:7fa/11 28:3fa/10
29:3fb/10 2a:f9/8 2b:7fb/11 2c:fa/8 2d:16/6 2e:17/6 2f:18/6 30:0/5 31:1/5 32:2/5 33:19/6 34:1a/6
35:1b/6 36:1c/6 37:1d/6 38:1e/6 39:1f/6 3a:5c/7 3b:fb/8 3c:7ffc/15 3d:20/6 3e:ffb/12 3f:3fc/10
40:1ffa/13 41:21/6 42:5d/7 43:5e/7 44:5f/7 45:60/7 46:61/7 47:62/7 48:63/7 49:64/7 4a:65/7 4b:66/7
4c:67/7 4d:68/7 4e:69/7 4f:6a/7 50:6b/7 51:6c/7 52:6d/7 53:6e/7 54:6f/7 55:70/7 56:71/7 57:72/7
58:fc/8 59:73/7 5a:fd/8 5b:1ffb/13 5c:7fff0/19 5d:1ffc/13 5e:3ffc/14 5f:22/6 60:7ffd/15 61:3/5
62:23/6 63:4/5 64:24/6 65:5/5 66:25/6 67:26/6 68:27/6 69:6/5 6a:74/7 6b:75/7 6c:28/6 6d:29/6
6e:2a/6 6f:7/5 70:2b/6 71:76/7 72:2c/6 73:8/5 74:9/5 75:2d/6 76:77/7 77:78/7 78:79/7 79:7a/7
7a:7b/7 7b:7ffe/15 7c:7fc/11 7d:3ffd/14 7e:1ffd/13 80:fffe6/20 81:3fffd2/22 82:fffe7/20 83:fffe8/20
84:3fffd3/22 85:3fffd4/22 86:3fffd5/22 87:7fffd9/23 88:3fffd6/22 89:7fffda/23 8a:7fffdb/23
8b:7fffdc/23 8c:7fffdd/23 8d:7fffde/23 8e:ffffeb/24 8f:7fffdf/23 90:ffffec/24 91:ffffed/24
92:3fffd7/22 93:7fffe0/23 94:ffffee/24 95:7fffe1/23 96:7fffe2/23 97:7fffe3/23 98:7fffe4/23
99:1fffdc/21 9a:3fffd8/22 9b:7fffe5/23 9c:3fffd9/22 9d:7fffe6/23 9e:7fffe7/23 9f:ffffef/24
a0:3fffda/22 a1:1fffdd/21 a2:fffe9/20 a3:3fffdb/22 a4:3fffdc/22 a5:7fffe8/23 a6:7fffe9/23
a7:1fffde/21 a8:7fffea/23 a9:3fffdd/22 aa:3fffde/22 ab:fffff0/24 ac:1fffdf/21 ad:3fffdf/22
ae:7fffeb/23 af:7fffec/23 b0:1fffe0/21 b1:1fffe1/21 b2:3fffe0/22 b3:1fffe2/21 b4:7fffed/23
b5:3fffe1/22 b6:7fffee/23 b7:7fffef/23 b8:fffea/20 b9:3fffe2/22 ba:3fffe3/22 bb:3fffe4/22
bc:7ffff0/23 bd:3fffe5/22 be:3fffe6/22 bf:7ffff1/23 c0:3ffffe0/26 c1:3ffffe1/26 c2:fffeb/20
c3:7fff1/19 c4:3fffe7/22 c5:7ffff2/23 c6:3fffe8/22 c7:1ffffec/25 c8:3ffffe2/26 c9:3ffffe3/26
ca:3ffffe4/26 cb:7ffffde/27 cc:7ffffdf/27 cd:3ffffe5/26 ce:fffff1/24 cf:1ffffed/25 d0:7fff2/19
d1:1fffe3/21 d2:3ffffe6/26 d3:7ffffe0/27 d4:7ffffe1/27 d5:3ffffe7/26 d6:7ffffe2/27 d7:fffff2/24
d8:1fffe4/21 d9:1fffe5/21 da:3ffffe8/26 db:3ffffe9/26 dc:ffffffd/28 dd:7ffffe3/27 de:7ffffe4/27
df:7ffffe5/27 e0:fffec/20 e1:fffff3/24 e2:fffed/20 e3:1fffe6/21 e4:3fffe9/22 e5:1fffe7/21
e6:1fffe8/21 e7:7ffff3/23 e8:3fffea/22 e9:3fffeb/22 ea:1ffffee/25 eb:1ffffef/25 ec:fffff4/24
ed:fffff5/24 ee:3ffffea/26 ef:7ffff4/23 f0:3ffffeb/26 f1:7ffffe6/27 f2:3ffffec/26 f3:3ffffed/26
f4:7ffffe7/27 f5:7ffffe8/27 f6:7ffffe9/27 f7:7ffffea/27 f8:7ffffeb/27 f9:ffffffe/28 fa:7ffffec/27
fb:7ffffed/27 fc:7ffffee/27 fd:7ffffef/27 fe:7fffff0/27 ff:3ffffee/26
`;

/** symbol -> { code, bits } */
export const HUFFMAN_CODES: ReadonlyMap<number, { code: number; bits: number }> = new Map(
  TABLE.trim()
    .split(/\s+/)
    .map((e) => {
      const [sym, rest] = e.split(':');
      const [code, bits] = rest.split('/');
      return [parseInt(sym, 16), { code: parseInt(code, 16), bits: Number(bits) }] as const;
    }),
);
