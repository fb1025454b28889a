import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FACTS, gatherScript, splitGatherOutput, want, hostnameFact, fileContentFact, nftRulesetHash } from '../../../toolkit/facts/index.js';
import { loadFixtures } from '../fixtures/index.js';

const fixtures = loadFixtures('facts');

test('there is at least one fixture for every fact', () => {
  const covered = new Set(fixtures.map(([name]) => name));
  for (const name of Object.keys(FACTS)) assert.ok(covered.has(name), `no fixture for fact ${name}`);
});

for (const [name, file, fx] of fixtures) {
  test(`fact ${name} / ${file}`, () => {
    const fact = FACTS[name];
    assert.ok(fact, `unknown fact ${name}`);
    assert.equal(fact.command(fx.args), fx.command);
    assert.deepEqual(fact.parse(fx.output, fx.code, fx.args), fx.fact);
  });
}

test('gather script output splits back per fact, exit codes and trailing newlines kept', () => {
  const reqs = [want(hostnameFact, {}), want(fileContentFact, { path: '/etc/hosts' }), want(fileContentFact, { path: '/nope' })];
  const script = gatherScript(reqs);
  assert.match(script, /\( hostname; cat \/etc\/hostname\n\) <\/dev\/null 2>\/dev\/null/);
  const out = '@@QUORUM-FACT 0 begin\netcd-01\netcd-01\n\n@@QUORUM-FACT 0 end 0\n'
    + '@@QUORUM-FACT 1 begin\n127.0.0.1 localhost\n\n@@QUORUM-FACT 1 end 0\n'
    + '@@QUORUM-FACT 2 begin\n\n@@QUORUM-FACT 2 end 1\n';
  const raw = splitGatherOutput(reqs, out);
  assert.deepEqual([...raw.values()], [
    { stdout: 'etcd-01\netcd-01\n', code: 0 },
    { stdout: '127.0.0.1 localhost\n', code: 0 },
    { stdout: '', code: 1 },
  ]);
});

test('a cut-short gather output is an error naming the fact', () => {
  const reqs = [want(hostnameFact, {})];
  assert.throws(() => splitGatherOutput(reqs, '@@QUORUM-FACT 0 begin\netcd-01\n'), /fact hostname/);
});

test('nft ruleset hash ignores counters but not rules', () => {
  const a = 'table inet quorum {\n\tchain input {\n\t\ttcp dport 2380 counter packets 5 bytes 300 accept\n\t}\n}\n';
  const b = a.replace('packets 5 bytes 300', 'packets 99 bytes 12000');
  const c = a.replace('2380', '2381');
  assert.equal(nftRulesetHash(a), nftRulesetHash(b));
  assert.notEqual(nftRulesetHash(a), nftRulesetHash(c));
});
