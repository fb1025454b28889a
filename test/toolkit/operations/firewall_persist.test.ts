/**
 * Firewall persistence keeps other tools' rules: the /etc/nftables.conf quorum creates has no `flush ruleset`
 * (only its own table is replaced, by the rule file itself), and a second run changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { firewallOp, nftablesConfContent, sha256 } from '../../../toolkit/operations/index.js';
import type { FirewallFacts } from '../../../toolkit/operations/index.js';

const root = new URL('../../../../', import.meta.url).pathname;
const content = Buffer.from('table inet quorum {}\ndelete table inet quorum\ntable inet quorum {}\n');
const desired = { path: '/etc/nftables.d/quorum.nft', content, family: 'inet', table: 'quorum' };
const enabled = { loadState: 'loaded', activeState: 'active', subState: 'exited', unitFileState: 'enabled', enabled: true, needDaemonReload: false };

function facts(conf: string | undefined): FirewallFacts {
  return {
    file: { exists: true, sha256: sha256(content) }, table: { exists: true }, nftablesConf: conf, service: enabled,
  } as unknown as FirewallFacts;
}

test('a missing /etc/nftables.conf is created with the include and without flush ruleset', () => {
  const r = firewallOp(facts(undefined), desired);
  assert.equal(r.changed, true);
  const put = r.commands.find((c) => c.kind === 'put' && c.path === '/etc/nftables.conf');
  assert.ok(put && put.kind === 'put', 'the conf is written');
  const text = String(put.content);
  assert.equal(text, nftablesConfContent('/etc/nftables.d'));
  assert.match(text, /^include "\/etc\/nftables\.d\/\*\.nft"$/m);
  assert.doesNotMatch(text, /^\s*flush\s+ruleset/m, 'no statement flushes other tables');
  // Idempotent: with the conf it wrote, the next run changes nothing.
  assert.equal(firewallOp(facts(text), desired).changed, false);
});

test('an existing conf is appended to, never rewritten (its own statements stay)', () => {
  const existing = '#!/usr/sbin/nft -f\ntable inet filter {\n}\n';
  const r = firewallOp(facts(existing), desired);
  assert.equal(r.changed, true);
  assert.ok(!r.commands.some((c) => c.kind === 'put' && c.path === '/etc/nftables.conf'));
  assert.ok(r.commands.some((c) => c.kind === 'run' && /'include "\/etc\/nftables\.d\/\*\.nft"' >> \/etc\/nftables\.conf/.test(c.cmd)));
});

test('the rule file template replaces only its own table (declare, delete, define)', () => {
  const t = readFileSync(`${root}templates/quorum.nft.hbs`, 'utf8');
  assert.doesNotMatch(t, /^\s*flush\s+ruleset/m);
  const lines = t.split('\n').map((l) => l.trim());
  const declare = lines.indexOf('table inet quorum {}');
  const del = lines.indexOf('delete table inet quorum');
  const define = lines.indexOf('table inet quorum {');
  assert.ok(declare >= 0 && del > declare && define > del, 'declare < delete < define');
});
