/**
 * `certs check` rows from installed PEM files (playbooks/rotate-certs/check.ts), CA bundles
 * (toolkit/pki/bundle.ts) and the inventory's short lifetimes (`pki.cert-minutes`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { failingRows, formatDays, formatRows, memberRows } from '../../../playbooks/rotate-certs/check.js';
import { parseInventory } from '../../../toolkit/inventory/index.js';
import type { HostSpec } from '../../../toolkit/inventory/types.js';
import { bundleInfo, ensureCa, issueCert, joinPemBundle, signedBy, splitPemBundle } from '../../../toolkit/pki/index.js';

const host = { name: 'etcd-01', address: '10.88.0.11' } as HostSpec;

test('rows: each CA of the bundle, server and peer, with days left and problems', async () => {
  const d = mkdtempSync(join(tmpdir(), 'certs-check-'));
  const ca1 = await ensureCa(join(d, 'a'), { days: 30 });
  const ca2 = await ensureCa(join(d, 'b'), { days: 30 });
  const server = await issueCert(ca1, { name: 's', cn: 'etcd-01', hosts: ['etcd-01', '10.88.0.11'], profile: 'server' }, 10 / 1440);
  const peer = await issueCert(ca2, { name: 'p', cn: 'etcd-01', hosts: ['etcd-01', '10.88.0.99'], profile: 'peer' }, 2);
  const now = Date.now();
  const bundle = joinPemBundle([ca1.certPem, ca2.certPem, ca1.certPem]);
  assert.equal(splitPemBundle(bundle).length, 2, 'duplicates dropped');
  assert.ok(signedBy(server.certPem, ca1.certPem) && !signedBy(server.certPem, ca2.certPem));

  const rows = memberRows(host, { ca: ca1.certPem, server: server.certPem, peer: peer.certPem }, now);
  assert.deepEqual(rows.map((r) => r.cert), ['ca', 'server', 'peer']);
  const s = rows[1]!;
  assert.equal(s.serial, server.serial);
  assert.deepEqual(s.sans, ['etcd-01', '10.88.0.11']);
  assert.ok(s.daysLeft > 9 / 1440 && s.daysLeft <= 10 / 1440, `a 10-minute certificate: ${s.daysLeft}`);
  assert.deepEqual(s.problems, []);
  assert.deepEqual(rows[2]!.problems, ['SANs lack 10.88.0.11 (fix: quorum certs rotate)', 'not signed by a trusted CA']);
  assert.deepEqual(failingRows(rows, 1).map((r) => r.cert), ['server', 'peer']);

  const withBundle = memberRows(host, { ca: bundle, server: server.certPem }, now);
  assert.deepEqual(withBundle.map((r) => r.cert), ['ca', 'ca', 'server', 'peer']);
  assert.deepEqual(withBundle[3]!.problems, ['peer.pem missing']);
  assert.deepEqual(bundleInfo(bundle).map((i) => i.serial), [withBundle[0]!.serial, withBundle[1]!.serial]);

  const table = formatRows(rows);
  assert.match(table.split('\n')[0]!, /^HOST\s+CERT\s+SUBJECT\s+SANS\s+SERIAL\s+NOT AFTER\s+DAYS LEFT\s+PROBLEMS$/);
  assert.ok(table.includes(server.serial) && table.includes('0.01'));
  assert.equal(formatDays(400.7), '400');
  assert.equal(formatDays(-1), 'expired');
});

test('inventory: pki.cert-minutes gives a fractional certDays; cert-days stays whole', () => {
  const base = 'cluster:\n  name: c\nhosts:\n  - name: a\n    address: 10.0.0.1\n';
  assert.equal(parseInventory(`${base}pki:\n  cert-minutes: 10\n`, '/tmp/inv.yaml').pki.certDays, 10 / 1440);
  assert.equal(parseInventory(`${base}pki:\n  cert-days: 90\n`, '/tmp/inv.yaml').pki.certDays, 90);
  assert.equal(parseInventory(base, '/tmp/inv.yaml').pki.certDays, 365);
  assert.throws(() => parseInventory(`${base}pki:\n  cert-minutes: 0\n`, '/tmp/inv.yaml'));
});
