/**
 * Map JSON pointers into a parsed YAML document back to line:column positions, so schema and semantic
 * problems can name the exact spot in the inventory file.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** A 1-based position in the source text. */
export interface Position { line: number; col: number }

/** Split a JSON pointer (`/hosts/1/address`) into unescaped segments (RFC 6901). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Build a JSON pointer from segments. */
export function toPointer(segments: Array<string | number>): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/**
 * Position of the node at `pointer`. With `at: 'key'` and a pointer ending in a map key, the key itself
 * is located (used for unknown keys). When the pointer goes past what exists (a missing key), the deepest
 * existing node is located instead; an empty document locates to 1:1.
 */
export function locate(doc: Document, lc: LineCounter, pointer: string, at: 'value' | 'key' = 'value'): Position {
  let node: unknown = doc.contents;
  let best: Node | null = (doc.contents as Node | null) ?? null;
  const segs = pointerSegments(pointer);
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === seg);
      if (!pair) break;
      if (last && at === 'key' && isScalar(pair.key)) { best = pair.key; break; }
      node = pair.value;
      // A key with no value (`hosts:`) has a null scalar at the end of the key: point at the key then.
      if (isScalar(pair.value) && pair.value.value === null && isScalar(pair.key)) { best = pair.key; break; }
    } else if (isSeq(node)) {
      const idx = Number(seg);
      if (!Number.isInteger(idx) || idx < 0 || idx >= node.items.length) break;
      node = node.items[idx];
    } else {
      break;
    }
    if (node && typeof node === 'object' && 'range' in (node as object)) best = node as Node;
  }
  const offset = best?.range?.[0] ?? 0;
  const p = lc.linePos(offset);
  return { line: p.line, col: p.col };
}
