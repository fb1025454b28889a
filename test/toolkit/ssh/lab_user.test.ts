/** The lab's non-root sudo user (scripts/lab/user.ts): the root script it runs on each host. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labUserAdd, labUserKey, userScript } from '../../../scripts/lab/user.js';

const PUB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDummyKeyForTests quorum-lab-qops';

test('passwordless: NOPASSWD sudo, key-only account, sudoers checked by visudo before it is installed', () => {
  const s = userScript('qops', PUB, false);
  assert.match(s, /useradd --create-home --shell \/bin\/bash qops/);
  assert.match(s, /usermod -p '\*' qops/);
  assert.match(s, new RegExp(`'${PUB}' > /home/qops/\\.ssh/authorized_keys`));
  assert.match(s, /'qops ALL=\(ALL:ALL\) NOPASSWD: ALL' > \/etc\/sudoers\.d\/quorum-lab-qops\.tmp/);
  assert.ok(s.indexOf('visudo -cqf /etc/sudoers.d/quorum-lab-qops.tmp') < s.indexOf('mv -f /etc/sudoers.d/quorum-lab-qops.tmp /etc/sudoers.d/quorum-lab-qops'));
  assert.doesNotMatch(s, /chpasswd/);
});

test('with a password: sudo asks for it; the password comes on stdin, never in the script', () => {
  const s = userScript('qops', PUB, true);
  assert.match(s, /'qops ALL=\(ALL:ALL\) ALL'/);
  assert.doesNotMatch(s, /NOPASSWD/);
  assert.match(s, /head -n1 \| sed 's\/\^\/qops:\/' \| chpasswd/);
});

test('bad names and passwords are refused before any host is touched', async () => {
  await assert.rejects(labUserAdd('root'), /bad user name "root"/);
  await assert.rejects(labUserAdd('Bad Name'), /bad user name/);
  await assert.rejects(labUserAdd('qops', { password: 'a\nb' }), /one non-empty line/);
  assert.equal(labUserKey('qops'), '/var/lib/quorum-lab/ssh/qops_ed25519');
});
