/**
 * `quorum certs rotate [--ca]`: runs the plan of plan.ts against the cluster. One member at a time, each
 * step behind the health gate before and after, and each member checked over TLS from the operator: after
 * a leaf push it must present the new serials on the client and peer ports; after a trust change it must
 * accept (phase 1) or refuse (phase 3) a probe certificate of the new / old CA. quorumd reloads certificate
 * files without a restart (store/server/tls_reload.ts); a member that does not pick them up within
 * `reloadTimeoutMs` is restarted (alone, the others healthy: never below quorum).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { sshConnectorFor } from '../../toolkit/connectors/inventory.js';
import type { Connector } from '../../toolkit/connectors/types.js';
import { StepError } from '../../toolkit/engine/index.js';
import type { HostSpec, Inventory } from '../../toolkit/inventory/types.js';
import { type Ca, ensureCa, readCertInfo, splitPemBundle } from '../../toolkit/pki/index.js';
import { closeAll, type HealthOptions, waitHealthy } from '../provision/cluster.js';
import { UNIT } from '../provision/defaults.js';
import { statusAll } from '../provision/store.js';
import { failingRows, gatherRows } from './check.js';
import {
  PREV_CA_DIR, ensureNextCa, newClientCert, newMemberCerts, operatorCaPem, operatorDrop, operatorFinish, operatorSwitch,
  operatorTrust, probeCert,
} from './operator.js';
import {
  type CaRotationState, type RotationStep, advanceState, describeStep, formatPlan, memberOrder, planCaRotation, planLeafRotation,
} from './plan.js';
import { type ProbeTls, handshakeAccepted, pollUntil, presentedSerial, pushPki } from './remote.js';
import { readRotationState, writeRotationState } from './state.js';

/** Options of `rotateCerts`. */
export interface RotateOptions {
  /** Rotate the CA (three phases) instead of the leaves. */
  ca?: boolean;
  /** Print the plan only. */
  dryRun?: boolean;
  /** Rotate only when an installed certificate (the CA with `ca`) has fewer days left, or a problem. */
  ifExpiringWithinDays?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /** How long a member may take to pick up new files before it is restarted, ms (default 20 s). */
  reloadTimeoutMs?: number;
  /** Health gate options (timeouts; tests). */
  health?: HealthOptions;
  /** The connector of a host (the CLI's SSH options, toolkit/connectors/ssh_cli.ts); default `sshConnectorFor`. */
  connectorFor?: (h: HostSpec) => Connector;
}

/** What `rotateCerts` did. `plan` is the formatted plan (also for dry runs). */
export interface RotateResult { rotated: boolean; plan: string; reason: string }

/** Default wait for a member to reload its certificate files, ms (quorumd polls every 2 s). */
export const RELOAD_TIMEOUT_MS = 20_000;

const normSerial = (s: string) => s.toLowerCase().replace(/^0+(?=.)/, '');

async function leaderName(inv: Inventory): Promise<string | undefined> {
  try {
    const r = await statusAll(inv);
    return r.find((x) => x.status && x.status.memberId === x.status.leader)?.name;
  } catch {
    return undefined;
  }
}

function operatorProbeTls(inv: Inventory): ProbeTls {
  const d = inv.pki.dir;
  return { ca: operatorCaPem(inv), cert: readFileSync(join(d, 'client.pem'), 'utf8'), key: readFileSync(join(d, 'client-key.pem'), 'utf8') };
}

/** Runs one rotation; see the module comment. @throws StepError naming the member and step that failed. */
export async function rotateCerts(inv: Inventory, opts: RotateOptions = {}): Promise<RotateResult> {
  const log = opts.log ?? (() => undefined);
  const state = readRotationState(inv.pki.dir);
  const inProgress = state !== undefined && state.phase !== 'done';
  if (!opts.ca && inProgress) {
    throw new Error(`a CA rotation is in progress (phase ${state.phase}) (fix: finish it with \`quorum certs rotate --ca -i ${inv.file}\`)`);
  }
  const conns = new Map<string, Connector>(inv.hosts.map((h) => [h.name, (opts.connectorFor ?? sshConnectorFor)(h)]));
  try {
    if (opts.ifExpiringWithinDays !== undefined && !inProgress) {
      const rows = await gatherRows(inv, conns);
      const kinds = opts.ca ? ['ca'] : ['server', 'peer', 'client'];
      const due = failingRows(rows, opts.ifExpiringWithinDays).filter((r) => kinds.includes(r.cert));
      if (!opts.ca) {
        const caDue = failingRows(rows, opts.ifExpiringWithinDays).filter((r) => r.cert === 'ca');
        if (caDue.length) log(`warning: the CA expires within ${opts.ifExpiringWithinDays} days (fix: quorum certs rotate --ca -i ${inv.file})`);
      }
      if (!due.length) {
        return { rotated: false, plan: '', reason: `no ${opts.ca ? 'CA' : 'leaf'} certificate expires within ${opts.ifExpiringWithinDays} days` };
      }
    }
    const order = memberOrder(inv.hosts.map((h) => h.name), await leaderName(inv));
    const ports = { client: inv.cluster.clientPort, peer: inv.cluster.peerPort };
    const steps = opts.ca ? planCaRotation(state, order) : planLeafRotation(order);
    const title = opts.ca
      ? (inProgress ? `CA rotation of cluster ${inv.cluster.name}: resuming phase ${state.phase} (done: ${state.done.join(', ') || 'none'})` : `CA rotation of cluster ${inv.cluster.name}`)
      : `leaf certificate rotation of cluster ${inv.cluster.name}`;
    const plan = formatPlan(title, steps, ports);
    if (opts.dryRun) return { rotated: false, plan, reason: 'dry run' };
    log(plan.trimEnd());
    await new Runner(inv, conns, opts, log, inProgress ? state : undefined).run(steps);
    return { rotated: true, plan, reason: 'rotated' };
  } finally {
    await closeAll([...conns.values()]);
  }
}

/** Executes steps, keeping the CA rotation state. */
class Runner {
  private next: Ca | undefined;
  private bundle = '';

  constructor(
    private readonly inv: Inventory,
    private readonly conns: Map<string, Connector>,
    private readonly opts: RotateOptions,
    private readonly log: (line: string) => void,
    private state: CaRotationState | undefined,
  ) {}

  private host(name: string): HostSpec {
    return this.inv.hosts.find((h) => h.name === name)!;
  }

  private gate(why: string) {
    return waitHealthy(this.inv, why, { ...this.opts.health, log: this.log });
  }

  async run(steps: RotationStep[]): Promise<void> {
    for (const step of steps) {
      this.log(`- ${describeStep(step, { client: this.inv.cluster.clientPort, peer: this.inv.cluster.peerPort })}`);
      try {
        await this.exec(step);
      } catch (e) {
        throw StepError.from(step.host, `certs rotate: ${step.op}`, e,
          this.state ? `rerun \`quorum certs rotate --ca -i ${this.inv.file}\` to resume from phase ${this.state.phase}` : 'rerun `quorum certs rotate`');
      }
      if (this.state && step.op !== 'new-ca') {
        const before = this.state.phase;
        this.state = advanceState(this.state, step, this.inv.hosts.length, new Date().toISOString());
        writeRotationState(this.inv.pki.dir, this.state);
        if (this.state.phase !== before) this.log(`rotation state: phase ${before} complete; now ${this.state.phase}`);
      }
    }
  }

  private async nextCa(): Promise<Ca> {
    this.next ??= await ensureNextCa(this.inv);
    if (this.state && readCertInfo(this.next.certPem).serial !== this.state.newCaSerial) {
      throw new Error(`ca-next/ca.pem (serial ${readCertInfo(this.next.certPem).serial}) is not the CA this rotation started with (${this.state.newCaSerial})`);
    }
    return this.next;
  }

  private async exec(step: RotationStep): Promise<void> {
    const inv = this.inv;
    switch (step.op) {
      case 'new-ca': {
        const next = await this.nextCa();
        const old = splitPemBundle(operatorCaPem(inv))[0]!;
        const now = new Date().toISOString();
        this.state = {
          version: 1, kind: 'ca', phase: 'trust', oldCaSerial: readCertInfo(old).serial, newCaSerial: readCertInfo(next.certPem).serial,
          done: [], startedAt: now, updatedAt: now,
        };
        writeRotationState(inv.pki.dir, this.state);
        return;
      }
      case 'operator-trust':
        this.bundle = operatorTrust(inv, await this.nextCa());
        return;
      case 'operator-switch':
        this.bundle = await operatorSwitch(inv, await this.nextCa(), inv.pki.certDays);
        return;
      case 'operator-drop':
        this.bundle = operatorDrop(inv);
        return;
      case 'operator-client':
        await newClientCert(inv, inv.pki.certDays);
        return;
      case 'finish':
        operatorFinish(inv);
        return;
      case 'push-trust': {
        await this.gate(`before ${step.host}`);
        await pushPki(this.conns.get(step.host)!, inv, [{ name: 'ca.pem', content: this.bundle }]);
        const probe = await probeCert(await this.nextCa());
        await this.expect(step.host, 'accept a new-CA client certificate', async () => this.accepts(step.host, { ...operatorProbeTls(inv), ...probe }, true));
        await this.gate(`after ${step.host}`);
        return;
      }
      case 'push-drop': {
        await this.gate(`before ${step.host}`);
        await pushPki(this.conns.get(step.host)!, inv, [{ name: 'ca.pem', content: this.bundle }]);
        let prev: Ca | undefined;
        try {
          prev = await ensureCa(join(inv.pki.dir, PREV_CA_DIR));
        } catch {
          prev = undefined; // no old CA key kept (or it expired): nothing to probe with
        }
        if (prev) {
          const probe = await probeCert(prev);
          await this.expect(step.host, 'refuse an old-CA client certificate', async () => this.accepts(step.host, { ...operatorProbeTls(inv), ...probe }, false));
        }
        await this.gate(`after ${step.host}`);
        return;
      }
      case 'push-leaf': {
        await this.gate(`before ${step.host}`);
        const h = this.host(step.host);
        const { server, peer } = await newMemberCerts(inv, h, inv.pki.certDays);
        await pushPki(this.conns.get(step.host)!, inv, [
          { name: 'ca.pem', content: operatorCaPem(inv) },
          { name: 'server-key.pem', content: server.keyPem }, { name: 'server.pem', content: server.certPem },
          { name: 'peer-key.pem', content: peer.keyPem }, { name: 'peer.pem', content: peer.certPem },
        ]);
        await this.expect(step.host, `present serials ${server.serial} (client) and ${peer.serial} (peer)`, async () => {
          const t = operatorProbeTls(inv);
          try {
            const [c, p] = await Promise.all([
              presentedSerial(h.address, inv.cluster.clientPort, t), presentedSerial(h.address, inv.cluster.peerPort, t),
            ]);
            return c === normSerial(server.serial) && p === normSerial(peer.serial);
          } catch {
            return false;
          }
        });
        await this.gate(`after ${step.host}`);
        return;
      }
    }
  }

  /** Whether the member's both ports accept (`want` true) or refuse (`want` false) the probe. */
  private async accepts(name: string, t: ProbeTls, want: boolean): Promise<boolean> {
    const h = this.host(name);
    const r = await Promise.all([handshakeAccepted(h.address, this.inv.cluster.clientPort, t), handshakeAccepted(h.address, this.inv.cluster.peerPort, t)]);
    return r.every((x) => x === want);
  }

  /**
   * Waits until `ok` holds; when it does not within the reload timeout, restarts the member alone (after
   * the gate: the others are healthy) and waits again. @throws Error when it still does not hold.
   */
  private async expect(name: string, what: string, ok: () => Promise<boolean>): Promise<void> {
    const timeout = this.opts.reloadTimeoutMs ?? RELOAD_TIMEOUT_MS;
    if (await pollUntil(ok, timeout)) return;
    this.log(`${name}: did not ${what} within ${Math.round(timeout / 1000)} s without a restart; restarting it (one member, the others healthy)`);
    await this.gate(`before restarting ${name}`);
    const r = await this.conns.get(name)!.run(`systemctl restart ${UNIT}`, { sudo: true });
    if (r.code !== 0) throw new Error(`systemctl restart ${UNIT} failed: ${r.stderr.trim()}`);
    await this.gate(`after restarting ${name}`);
    if (!(await pollUntil(ok, timeout))) throw new Error(`does not ${what} even after a restart (look at \`journalctl -u ${UNIT}\`)`);
  }
}
