/**
 * The certificate rotation planner (pure: no I/O). A rotation is a list of steps; the executor (rotate.ts)
 * runs them in order and records progress in the operator's rotation state (state.ts), so planning from a
 * saved state gives exactly the steps that are left.
 *
 * Leaf rotation: a new operator client certificate, then per member (followers first, leader last) new
 * server and peer certificates signed by the current CA, pushed, checked (the member presents the new
 * serials on both ports) and health-gated.
 *
 * CA rotation (three phases, each rolling one member at a time behind the health gate), so that at every
 * moment each member trusts the CA of every certificate another member or the operator may present:
 *   1. trust:  every member trusts the bundle old CA + new CA (leaves still old-CA signed);
 *   2. switch: the operator signs with the new CA; every leaf (and the client cert) is re-issued by it;
 *   3. drop:   every member trusts only the new CA.
 */

/** The phases of a CA rotation, in order. */
export type CaPhase = 'trust' | 'switch' | 'drop';
export const CA_PHASES: readonly CaPhase[] = ['trust', 'switch', 'drop'];

/**
 * The operator's record of a CA rotation in progress (`<pki dir>/rotation-state.json`). `done` lists the
 * members that finished the current phase. Serials are lowercase hex.
 */
export interface CaRotationState {
  version: 1;
  kind: 'ca';
  phase: CaPhase | 'done';
  oldCaSerial: string;
  newCaSerial: string;
  done: string[];
  startedAt: string;
  updatedAt: string;
}

/** One step. `host` is a member name, or `operator` for steps on the operator machine. */
export type RotationStep =
  | { op: 'new-ca'; host: 'operator'; phase: 'prepare' }
  | { op: 'operator-trust'; host: 'operator'; phase: 'trust' }
  | { op: 'push-trust'; host: string; phase: 'trust' }
  | { op: 'operator-switch'; host: 'operator'; phase: 'switch' }
  | { op: 'operator-client'; host: 'operator'; phase: 'leaf' }
  | { op: 'push-leaf'; host: string; phase: 'leaf' | 'switch' }
  | { op: 'operator-drop'; host: 'operator'; phase: 'drop' }
  | { op: 'push-drop'; host: string; phase: 'drop' }
  | { op: 'finish'; host: 'operator'; phase: 'finish' };

/** Members in rotation order: inventory order, the current leader (when known) last. */
export function memberOrder(hosts: string[], leader?: string): string[] {
  return [...hosts].sort((a, b) => Number(a === leader) - Number(b === leader));
}

/** Leaf rotation: a new client certificate, then every member in `order`. */
export function planLeafRotation(order: string[]): RotationStep[] {
  return [{ op: 'operator-client', host: 'operator', phase: 'leaf' }, ...order.map((host): RotationStep => ({ op: 'push-leaf', host, phase: 'leaf' }))];
}

/**
 * The CA rotation steps left given `state` (undefined or phase `done`: a fresh rotation). Members already in
 * `state.done` are skipped in the current phase; the operator step of the current phase is always included
 * (it is idempotent, and a run killed right after the phase started may not have finished it).
 * @throws Error when `state.done` names a member that is not in `order` (the inventory changed mid-rotation).
 */
export function planCaRotation(state: CaRotationState | undefined, order: string[]): RotationStep[] {
  const fresh = state === undefined || state.phase === 'done';
  const steps: RotationStep[] = [];
  if (fresh) steps.push({ op: 'new-ca', host: 'operator', phase: 'prepare' });
  const start = fresh ? 0 : CA_PHASES.indexOf(state.phase as CaPhase);
  const done = new Set(fresh ? [] : state.done);
  const unknown = [...done].filter((h) => !order.includes(h));
  if (unknown.length) {
    throw new Error(`rotation state names members not in the inventory: ${unknown.join(', ')} (fix: finish the CA rotation with the inventory it started with)`);
  }
  for (let i = start; i < CA_PHASES.length; i++) {
    const phase = CA_PHASES[i]!;
    const left = i === start ? order.filter((h) => !done.has(h)) : order;
    if (phase === 'trust') {
      steps.push({ op: 'operator-trust', host: 'operator', phase });
      for (const host of left) steps.push({ op: 'push-trust', host, phase });
    } else if (phase === 'switch') {
      steps.push({ op: 'operator-switch', host: 'operator', phase });
      for (const host of left) steps.push({ op: 'push-leaf', host, phase });
    } else {
      steps.push({ op: 'operator-drop', host: 'operator', phase });
      for (const host of left) steps.push({ op: 'push-drop', host, phase });
    }
  }
  steps.push({ op: 'finish', host: 'operator', phase: 'finish' });
  return steps;
}

/** The state after `step` succeeded (CA rotation only; leaf steps leave it unchanged). `now` is an ISO time. */
export function advanceState(state: CaRotationState, step: RotationStep, memberCount: number, now: string): CaRotationState {
  const next = (p: CaRotationState['phase']): CaRotationState => ({ ...state, phase: p, done: [], updatedAt: now });
  switch (step.op) {
    case 'push-trust':
    case 'push-leaf':
    case 'push-drop': {
      if (step.phase === 'leaf') return state;
      const done = state.done.includes(step.host) ? state.done : [...state.done, step.host];
      if (done.length < memberCount) return { ...state, done, updatedAt: now };
      return next(step.phase === 'trust' ? 'switch' : step.phase === 'switch' ? 'drop' : 'done');
    }
    case 'finish':
      return next('done');
    default:
      return state;
  }
}

/** Ports named in plan lines. */
export interface PlanPorts { client: number; peer: number }

/** One line describing `step` (for --dry-run and progress). */
export function describeStep(step: RotationStep, ports: PlanPorts): string {
  const presents = `check it presents the new serials on :${ports.client} and :${ports.peer}; health gate`;
  switch (step.op) {
    case 'new-ca': return 'operator: create the new CA (ca-next/ca.pem, ca-next/ca-key.pem); record phase 1 in rotation-state.json';
    case 'operator-trust': return 'operator: ca.pem = old CA + new CA (the old CA still signs)';
    case 'push-trust': return `${step.host}: install ca.pem = old CA + new CA; check it accepts a new-CA client certificate on :${ports.client} and :${ports.peer}; health gate`;
    case 'operator-switch': return 'operator: sign with the new CA (ca.pem = new CA + old CA, ca-key.pem = new key, old CA kept in ca-prev/); new client certificate';
    case 'operator-client': return 'operator: new client certificate (client.pem, client-key.pem) signed by the current CA';
    case 'push-leaf': return `${step.host}: new server and peer certificates${step.phase === 'switch' ? ' signed by the new CA' : ''}, pushed atomically (temp + rename); ${presents}`;
    case 'operator-drop': return 'operator: ca.pem = new CA only';
    case 'push-drop': return `${step.host}: install ca.pem = new CA only; check it refuses an old-CA client certificate; health gate`;
    case 'finish': return 'operator: remove ca-next/; record phase done';
  }
}

const PHASE_TITLE: Record<string, string> = {
  prepare: 'prepare', trust: 'phase 1/3: trust old + new CA', switch: 'phase 2/3: switch leaves to the new CA',
  drop: 'phase 3/3: drop the old CA', finish: 'finish', leaf: 'leaf rotation',
};

/** The plan as text: a title line, then the steps grouped under their phase. */
export function formatPlan(title: string, steps: RotationStep[], ports: PlanPorts): string {
  const lines = [title];
  let phase = '';
  for (const s of steps) {
    if (s.phase !== phase) {
      phase = s.phase;
      lines.push(`  ${PHASE_TITLE[phase] ?? phase}:`);
    }
    lines.push(`    - ${describeStep(s, ports)}`);
  }
  return `${lines.join('\n')}\n`;
}
