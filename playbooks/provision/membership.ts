/**
 * The membership planner (pure: no I/O). From the inventory's host names and the cluster's current member
 * list it computes the ordered transitions that make the membership equal to the inventory, one change at a
 * time, each behind a health gate, or refuses with the reason.
 *
 * An addition (etcd "Add a new member", runtime reconfiguration guide, learner flow):
 *   update peers (/etc/hosts, firewall, initial-cluster of the others; no restart) -> MemberAdd as learner ->
 *   provision the joiner with `initial-cluster-state: existing` -> start it -> wait until it has caught up ->
 *   MemberPromote -> health gate.
 * A removal: (move leadership away first when it is the leader) -> MemberRemove -> stop -> wipe its data dir ->
 *   update the remaining peers -> health gate.
 *
 * Order: learners left over from an interrupted run first (removed or resumed), then removals of unhealthy
 * voters (they only cost quorum), then additions, then removals of healthy voters (the leader last). Because
 * the plan is recomputed from the live member list on every run, an interrupted run resumes where it stopped.
 *
 * Safety (Raft §4 / etcd "cluster reconfiguration" guidance): before every step the healthy voters must be a
 * quorum (floor(n/2)+1) of the voters the step leaves; the final voter count must be odd unless `allowEven`.
 * Transient even counts between two steps of one plan (3 -> 4 -> 5) are unavoidable one-at-a-time and allowed.
 */

/** One member as the cluster reports it (Cluster.MemberList + per-member Status). */
export interface CurrentMember {
  /** Member (= inventory host) name. */
  name: string;
  /** A learner (non-voting) member. */
  isLearner: boolean;
  /** Answers Status over mTLS without errors. */
  healthy: boolean;
  /** The current Raft leader. */
  isLeader?: boolean;
}

/** Options of `planMembership`. */
export interface MembershipOptions {
  /** Accept a final even voter count (`--allow-even`). */
  allowEven?: boolean;
}

/** One transition step. `voters` is the voter set once the step is done (for display and the gate). */
export type MembershipStep =
  | { op: 'update-peers'; host: string; hosts: string[]; voters: string[]; why: 'add' | 'remove' }
  | { op: 'add-learner'; host: string; voters: string[] }
  | { op: 'provision-joiner'; host: string; initialCluster: string[]; voters: string[] }
  | { op: 'start'; host: string; voters: string[] }
  | { op: 'wait-caught-up'; host: string; voters: string[] }
  | { op: 'promote'; host: string; voters: string[] }
  | { op: 'move-leader'; host: string; to: string; voters: string[] }
  | { op: 'remove-member'; host: string; voters: string[] }
  | { op: 'stop'; host: string; voters: string[] }
  | { op: 'wipe'; host: string; voters: string[] }
  | { op: 'gate'; host: 'cluster'; why: string; voters: string[] };

/** The result: the steps, or a refusal with one-line reason (and nothing to do). */
export type MembershipPlan =
  | { ok: true; steps: MembershipStep[]; from: string[]; to: string[] }
  | { ok: false; reason: string; steps: []; from: string[]; to: string[] };

/** Quorum size of `n` voters: floor(n/2)+1. */
export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Failures `n` voters tolerate: n - quorum. */
export function toleranceOf(n: number): number {
  return n - quorumOf(n);
}

/**
 * Plans the transitions from `current` to the inventory's `desired` host names (inventory order). Never throws;
 * a refused plan says why: no quorum now, a step that would lose quorum, an even final count, an empty inventory.
 */
export function planMembership(desired: string[], current: CurrentMember[], opts: MembershipOptions = {}): MembershipPlan {
  // Inventory order first, then members that left it (by name): plans read the same on every run.
  const rank = (n: string) => { const i = desired.indexOf(n); return i < 0 ? desired.length : i; };
  current = [...current].sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const from = current.filter((m) => !m.isLearner).map((m) => m.name);
  const to = [...desired];
  const refuse = (reason: string): MembershipPlan => ({ ok: false, reason, steps: [], from, to });
  const want = new Set(desired);
  if (!desired.length) return refuse('the inventory lists no host: refusing to remove every member (destroy the cluster by hand if you mean it)');
  if (new Set(desired).size !== desired.length) return refuse('the inventory lists a host twice');

  // Simulated cluster state, updated step by step.
  const voters = new Map<string, boolean>(); // name -> healthy
  const learners = new Map<string, boolean>();
  let leader: string | undefined;
  for (const m of current) {
    (m.isLearner ? learners : voters).set(m.name, m.healthy);
    if (m.isLeader) leader = m.name;
  }
  const healthyVoters = () => [...voters.values()].filter(Boolean).length;
  const names = () => [...voters.keys()];
  if (!voters.size) return refuse('the cluster reports no voting member');
  const finalCount = desired.length;
  const unchanged = !learners.size && voters.size === finalCount && desired.every((d) => voters.has(d));
  if (unchanged) return { ok: true, steps: [], from, to };
  if (healthyVoters() < quorumOf(voters.size)) {
    return refuse(`the cluster has no quorum now: ${healthyVoters()} of ${voters.size} voters healthy (need ${quorumOf(voters.size)}); restore the failed members before changing the membership`);
  }
  if (finalCount % 2 === 0 && !opts.allowEven) {
    return refuse(`the inventory leaves ${finalCount} voting members: an even count tolerates ${toleranceOf(finalCount)} failed member(s), no more than ${finalCount - 1} members would; add or remove one host, or pass --allow-even`);
  }

  const steps: MembershipStep[] = [];
  const gate = (why: string) => steps.push({ op: 'gate', host: 'cluster', why, voters: names() });
  let refused: string | undefined;
  /** Checks that `nextVoters` with `nextHealthy` healthy ones keeps a quorum; records a refusal otherwise. */
  const keeps = (what: string, nextCount: number, nextHealthy: number): boolean => {
    if (nextCount === 0 || nextHealthy < quorumOf(nextCount)) {
      refused = `${what} would leave ${nextHealthy} healthy of ${nextCount} voters (quorum ${quorumOf(nextCount)}): restore the failed members first, or change one host at a time`;
      return false;
    }
    return true;
  };

  const remove = (host: string, wasVoter: boolean) => {
    const healthy = wasVoter ? voters.get(host)! : learners.get(host)!;
    if (wasVoter) {
      if (!keeps(`removing ${host}`, voters.size - 1, healthyVoters() - (healthy ? 1 : 0))) return false;
      if (leader === host) {
        const target = names().find((n) => n !== host && voters.get(n) && want.has(n));
        if (!target) { refused = `removing the leader ${host}: no healthy member to move leadership to`; return false; }
        steps.push({ op: 'move-leader', host, to: target, voters: names() });
        leader = target;
      }
      voters.delete(host);
    } else {
      learners.delete(host);
    }
    steps.push({ op: 'remove-member', host, voters: names() });
    steps.push({ op: 'stop', host, voters: names() });
    steps.push({ op: 'wipe', host, voters: names() });
    const others = [...names(), ...learners.keys()];
    steps.push({ op: 'update-peers', host, hosts: others, voters: names(), why: 'remove' });
    gate(`after removing ${host}`);
    return true;
  };

  const add = (host: string, alreadyLearner: boolean) => {
    // Promotion adds a voter that must be healthy (it has caught up), so the quorum only grows with it.
    if (!keeps(`adding ${host}`, voters.size + 1, healthyVoters() + 1)) return false;
    if (!alreadyLearner) {
      const others = [...names(), ...learners.keys()];
      steps.push({ op: 'update-peers', host, hosts: others, voters: names(), why: 'add' });
      steps.push({ op: 'add-learner', host, voters: names() });
      learners.set(host, false);
    }
    const initialCluster = [...names(), ...learners.keys()];
    steps.push({ op: 'provision-joiner', host, initialCluster, voters: names() });
    steps.push({ op: 'start', host, voters: names() });
    steps.push({ op: 'wait-caught-up', host, voters: names() });
    learners.delete(host);
    voters.set(host, true);
    steps.push({ op: 'promote', host, voters: names() });
    gate(`after adding ${host}`);
    return true;
  };

  gate('before membership changes');
  // 1. learners from an interrupted run: removed when no longer wanted, else resumed (started + promoted).
  for (const l of [...learners.keys()]) {
    if (!want.has(l) && !remove(l, false)) return refuse(refused!);
  }
  for (const l of [...learners.keys()]) {
    if (want.has(l) && !add(l, true)) return refuse(refused!);
  }
  // 2. unhealthy voters not wanted: removing them only restores tolerance.
  for (const v of [...voters.keys()]) {
    if (!want.has(v) && !voters.get(v) && !remove(v, true)) return refuse(refused!);
  }
  // 3. additions, in inventory order.
  for (const h of desired) {
    if (!voters.has(h) && !learners.has(h) && !add(h, false)) return refuse(refused!);
  }
  // 4. healthy voters not wanted, the leader last.
  const leaving = [...voters.keys()].filter((v) => !want.has(v)).sort((a, b) => Number(a === leader) - Number(b === leader));
  for (const v of leaving) {
    if (!remove(v, true)) return refuse(refused!);
  }
  return { ok: true, steps, from, to };
}

/** One line per step, as `--dry-run` prints it. */
export function describeStep(s: MembershipStep): string {
  switch (s.op) {
    case 'update-peers': return s.why === 'add'
      ? `update ${s.hosts.join(', ') || '(no other member)'}: /etc/hosts and firewall admit ${s.host}; initial-cluster lists it (no restart)`
      : `update ${s.hosts.join(', ') || '(no other member)'}: drop ${s.host} from /etc/hosts, firewall and initial-cluster (no restart)`;
    case 'add-learner': return `member add ${s.host} --learner`;
    case 'provision-joiner': return `provision ${s.host} with initial-cluster-state existing, initial-cluster ${s.initialCluster.join(',')}`;
    case 'start': return `start quorumd on ${s.host}`;
    case 'wait-caught-up': return `wait until ${s.host} has caught up with the leader's log`;
    case 'promote': return `member promote ${s.host} (voters: ${s.voters.join(', ')})`;
    case 'move-leader': return `move leadership from ${s.host} to ${s.to}`;
    case 'remove-member': return `member remove ${s.host} (voters: ${s.voters.join(', ')})`;
    case 'stop': return `stop and disable quorumd on ${s.host}`;
    case 'wipe': return `wipe ${s.host}'s data dir (it can never rejoin with it)`;
    case 'gate': return `health gate (${s.why}): ${s.voters.length} voters healthy, exactly one leader`;
  }
}

/** The `--dry-run` text of a plan: a header, then numbered steps, or the refusal. */
export function formatMembershipPlan(p: MembershipPlan): string {
  const head = `membership: ${p.from.join(', ')} -> ${p.to.join(', ')}`;
  if (!p.ok) return `${head}\n  REFUSED: ${p.reason}\n`;
  if (!p.steps.length) return `${head}\n  nothing to change\n`;
  return `${head}\n${p.steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${describeStep(s)}`).join('\n')}\n`;
}
