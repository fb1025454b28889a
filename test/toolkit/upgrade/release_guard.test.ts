/**
 * Provision refuses to undo `quorum upgrade` (playbooks/provision/release-guard.ts): the decision from each
 * member's releases (as parsed from the member by upgrade-facts.ts) and the refusal text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { releaseSwitchRefusal, releaseSwitches } from '../../../playbooks/provision/release-guard.js';
import { parseReleases, type VersionRow } from '../../../playbooks/provision/upgrade-facts.js';

const sha = (c: string) => c.repeat(64);
/** A member as `releasesCommand` reports it: links into /opt/quorum/<active>, quorumd running from <running>. */
function member(name: string, o: { active?: string; running?: string; previous?: string; installed: string[] }): VersionRow {
  const lines = [
    `active=${o.active ? `/opt/quorum/${o.active}/bin/quorumd` : ''}`,
    `previous=${o.previous ? `/opt/quorum/${o.previous}` : ''}`,
    ...(o.running ? [`running=/opt/quorum/${o.running}/lib/node`] : []),
    ...o.installed.map((v, i) => `installed ${v} ${sha(String(i + 1))}`),
  ];
  return { name, releases: parseReleases(lines.join('\n')) };
}
const target = { version: '0.1.0', tarball: '/rel/quorum-0.1.0-linux-x64.tar.gz' };

test('after an upgrade to 0.2.0, an inventory still naming 0.1.0 is refused for every running member', () => {
  const rows = ['etcd-01', 'etcd-02', 'etcd-03'].map((n) => member(n, { active: '0.2.0', running: '0.2.0', previous: '0.1.0', installed: ['0.1.0', '0.2.0'] }));
  const sw = releaseSwitches(rows, '0.1.0');
  assert.deepEqual(sw.map((s) => [s.name, s.running, s.previous]), [['etcd-01', '0.2.0', '0.1.0'], ['etcd-02', '0.2.0', '0.1.0'], ['etcd-03', '0.2.0', '0.1.0']]);
  const r = releaseSwitchRefusal(sw, target, '/inv/lab.yaml');
  assert.ok(r);
  assert.match(r.reason, /etcd-01, etcd-02, etcd-03 run release 0\.2\.0/);
  assert.match(r.reason, /cluster\.release is 0\.1\.0 \(\/rel\/quorum-0\.1\.0-linux-x64\.tar\.gz\)/);
  assert.match(r.reason, /nothing was changed/);
  assert.match(r.fix, /set cluster\.release in \/inv\/lab\.yaml to the release the members run \(quorum-0\.2\.0-linux-x64\.tar\.gz\)/);
  assert.match(r.fix, /quorum upgrade -i \/inv\/lab\.yaml --rollback/);
  assert.match(r.fix, /--allow-downgrade/);
});

test('members already on the inventory\'s version, stopped, fresh or unreadable are not refused', () => {
  const rows: VersionRow[] = [
    member('etcd-01', { active: '0.1.0', running: '0.1.0', previous: '0.2.0', installed: ['0.1.0', '0.2.0'] }),
    member('etcd-02', { active: '0.2.0', installed: ['0.2.0'] }), // stopped: provision starts it as before
    member('etcd-03', { installed: [] }), // fresh host
    { name: 'etcd-04', error: 'connection refused' },
    { name: 'etcd-05', releases: parseReleases('running=/home/dev/node\n') }, // not from /opt/quorum
  ];
  assert.deepEqual(releaseSwitches(rows, '0.1.0'), []);
  assert.equal(releaseSwitchRefusal([], target, '/inv/lab.yaml'), undefined);
});

test('a partly upgraded cluster names each version; --rollback is offered only when it leads to the inventory\'s release', () => {
  const rows = [
    member('etcd-01', { active: '0.2.0', running: '0.2.0', previous: '0.1.0', installed: ['0.1.0', '0.2.0'] }),
    member('etcd-02', { active: '0.1.0', running: '0.1.0', installed: ['0.1.0'] }),
    member('etcd-03', { active: '0.3.0', running: '0.3.0', previous: '0.2.0', installed: ['0.2.0', '0.3.0'] }),
  ];
  const sw = releaseSwitches(rows, '0.1.0');
  assert.deepEqual(sw.map((s) => s.name), ['etcd-01', 'etcd-03']);
  const r = releaseSwitchRefusal(sw, target, 'lab.yaml')!;
  assert.match(r.reason, /etcd-01 runs release 0\.2\.0; etcd-03 runs release 0\.3\.0/);
  assert.doesNotMatch(r.fix, /--rollback/, 'etcd-03 would roll back to 0.2.0, not 0.1.0');
  assert.match(r.fix, /move them to 0\.1\.0 with `quorum upgrade -i lab\.yaml`/);
  assert.match(r.fix, /quorum-<version>-linux-x64\.tar\.gz/);
});

test('a running member whose links were switched but not restarted counts by the release it runs', () => {
  const rows = [member('etcd-01', { active: '0.1.0', running: '0.2.0', previous: '0.2.0', installed: ['0.1.0', '0.2.0'] })];
  assert.deepEqual(releaseSwitches(rows, '0.1.0').map((s) => s.running), ['0.2.0']);
});
