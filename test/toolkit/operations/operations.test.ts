import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type OperationResult, describeCommand, directoryOp, fileOp, firewallOp, hostnameOp, releaseOp,
  serviceOp, systemUserOp, systemdUnitOp,
} from '../../../toolkit/operations/index.js';
import { loadFixtures } from '../fixtures/index.js';

/** Turns fixture JSON text content into bytes, as the playbook passes it. */
function withContent(d: any): any {
  return typeof d.content === 'string' ? { ...d, content: Buffer.from(d.content) } : d;
}

const OPS: Record<string, (facts: any, desired: any) => OperationResult> = {
  hostname: (f, d) => hostnameOp(f.fact, d),
  system_user: (f, d) => systemUserOp(f.fact, d),
  directory: (f, d) => directoryOp(f.fact, d),
  file: (f, d) => fileOp(f.fact, withContent(d)),
  release: (f, d) => releaseOp(f.fact, d),
  systemd_unit: (f, d) => systemdUnitOp(f.file, f.unit, withContent(d)),
  service: (f, d) => serviceOp(f.fact, d),
  firewall: (f, d) => firewallOp(f, withContent(d)),
};

const fixtures = loadFixtures('operations');

test('every operation has a no-change fixture', () => {
  for (const name of Object.keys(OPS)) {
    assert.ok(fixtures.some(([n, , fx]) => n === name && fx.changed === false), `no noop fixture for ${name}`);
  }
});

for (const [name, file, fx] of fixtures) {
  test(`operation ${name} / ${file}`, () => {
    const op = OPS[name];
    assert.ok(op, `unknown operation ${name}`);
    if (fx.throws) {
      assert.throws(() => op(fx.facts, fx.desired), new RegExp(fx.throws));
      return;
    }
    const r = op(fx.facts, fx.desired);
    assert.deepEqual(r.commands.map(describeCommand), fx.commands);
    assert.equal(r.changed, fx.changed);
    assert.ok(r.reason.length > 0, 'every result says why');
    assert.deepEqual(r.notify ?? [], fx.notify ?? []);
  });
}
