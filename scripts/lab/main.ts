/**
 * CLI of the lab: `node dist/scripts/lab/main.js up [--hosts N] | down | status [--json] | exec HOST CMD... |
 * user-add NAME [--password-file F] | ssh-port PORT`.
 * Exit code 0 on success, 1 on failure (message on stderr), 2 on bad usage.
 */
import { readFileSync } from 'node:fs';
import { labDown, labExec, labStatus, labUp } from './index.js';
import { labSshPort, labUserAdd } from './user.js';

const USAGE = 'usage: main.js up [--hosts N] | down | status [--json] | exec HOST COMMAND... | user-add NAME [--password-file F] | ssh-port PORT';

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'up': {
      let hosts = 3;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        const v = a.startsWith('--hosts=') ? a.slice(8) : a === '--hosts' ? rest[++i] : undefined;
        if (v === undefined || !/^\d+$/.test(v)) {
          process.stderr.write(`${USAGE}\n`);
          return 2;
        }
        hosts = Number(v);
      }
      const t0 = Date.now();
      const up = await labUp({ hosts });
      process.stderr.write(`lab: ${up.length} host(s) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      return 0;
    }
    case 'down': {
      const t0 = Date.now();
      await labDown();
      process.stderr.write(`lab: down in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      return 0;
    }
    case 'status': {
      const st = await labStatus();
      if (rest.includes('--json')) {
        process.stdout.write(`${JSON.stringify(st, null, 2)}\n`);
        return 0;
      }
      process.stdout.write(
        `base: ${st.base.unpacked ? 'unpacked' : 'not unpacked'}, ${st.base.cached ? 'cached' : 'not cached'}; ` +
          `bridge: ${st.bridge ? 'up' : 'absent'}\n`,
      );
      if (st.hosts.length === 0) process.stdout.write('no hosts\n');
      for (const h of st.hosts) {
        process.stdout.write(
          `${h.name}\t${h.address}\t${h.running ? `running (pid ${h.pid})` : 'stopped'}\t` +
            `${h.mounted ? 'mounted' : 'unmounted'}\t${h.state ?? '-'}\n`,
        );
      }
      return 0;
    }
    case 'exec': {
      const [host, ...words] = rest;
      if (!host || words.length === 0) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const r = await labExec(host, words.join(' '));
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    case 'user-add': {
      const [name, flag, file] = rest;
      if (!name || (flag !== undefined && (flag !== '--password-file' || !file))) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const u = await labUserAdd(name, file ? { password: readFileSync(file, 'utf8').split('\n')[0]! } : {});
      process.stdout.write(`${u.name}\t${u.privateKey}\tsudo ${u.sudo}\t${u.hosts.join(',')}\n`);
      return 0;
    }
    case 'ssh-port': {
      if (!rest[0] || !/^\d+$/.test(rest[0])) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      await labSshPort(Number(rest[0]));
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
