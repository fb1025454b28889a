import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeClusterId, computeMemberId, idToHex } from '../../../store/server/ids.js';
import { initialMembers } from '../../../store/server/members.js';
import { parseCommandLine, type ServerConfig } from '../../../store/server/config.js';

// Observed against Debian's etcd 3.4.23: `etcd --name r1 --initial-advertise-peer-urls http://127.0.0.1:24801
// --initial-cluster r1=http://127.0.0.1:24801` (default token "etcd-cluster") reports member f4a457008d1441f2
// (17628310501313495538) in cluster 17368989521238926805.
test('member and cluster IDs match etcd 3.4 for the same inputs', () => {
  const id = computeMemberId(['http://127.0.0.1:24801'], 'etcd-cluster');
  assert.equal(idToHex(id), 'f4a457008d1441f2');
  assert.equal(id, 17628310501313495538n);
  assert.equal(computeClusterId([id]), 17368989521238926805n);
});

test('IDs are deterministic, order-independent and depend on every input', () => {
  const a = computeMemberId(['https://10.0.0.1:2380', 'https://10.0.0.2:2380'], 'tok');
  assert.equal(a, computeMemberId(['https://10.0.0.2:2380', 'https://10.0.0.1:2380'], 'tok'));
  assert.notEqual(a, computeMemberId(['https://10.0.0.1:2380', 'https://10.0.0.2:2380'], 'tok2'));
  assert.notEqual(a, computeMemberId(['https://10.0.0.1:2380'], 'tok'));
  const b = computeMemberId(['https://10.0.0.3:2380'], 'tok');
  assert.equal(computeClusterId([a, b]), computeClusterId([b, a]));
  assert.notEqual(computeClusterId([a, b]), computeClusterId([a]));
  assert.ok(a > 0n && a < 2n ** 64n);
});

test('initialMembers: every member gets its ID; the cluster ID is the same on every member', () => {
  const ic = 'a=http://127.0.0.1:1,b=http://127.0.0.1:2,c=http://127.0.0.1:3';
  const cfg = (name: string, port: number) =>
    (parseCommandLine(['--name', name, '--initial-cluster', ic, '--initial-advertise-peer-urls', `http://127.0.0.1:${port}`], {}) as { config: ServerConfig }).config;
  const ma = initialMembers(cfg('a', 1));
  const mc = initialMembers(cfg('c', 3));
  assert.equal(ma.clusterId, mc.clusterId);
  assert.equal(ma.members.length, 3);
  assert.equal(ma.selfId, computeMemberId(['http://127.0.0.1:1'], 'etcd-cluster'));
  assert.equal(mc.selfId, ma.members[2].id);
  assert.deepEqual(ma.members[0].clientUrls, ['http://localhost:2379']);
  assert.deepEqual(ma.members[1].clientUrls, []);
});
