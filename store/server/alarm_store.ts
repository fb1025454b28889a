/**
 * The cluster's alarms (etcd server/etcdserver/api/v3alarm/alarms.go): a set of (member ID, alarm type)
 * pairs, changed only by applying Alarm requests committed through Raft, so every member holds the same set.
 * A member rebuilds it on restart by replaying its WAL.
 */

/** etcdserverpb.AlarmType numbers. */
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
/** etcdserverpb.AlarmRequest.AlarmAction numbers. */
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;

/** Names of alarm types as protobuf prints them. */
export const ALARM_NAMES: Record<number, string> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };

/** One raised alarm (etcdserverpb.AlarmMember). */
export interface AlarmMember {
  memberId: bigint;
  alarm: number;
}

/**
 * The text form etcd prints for an alarm (gogo-protobuf CompactTextString of AlarmMember, e.g.
 * "memberID:16525471871992398963 alarm:NOSPACE " with its trailing space): used in Status.errors and by
 * `etcdctl alarm list`.
 */
export function alarmText(a: AlarmMember): string {
  let s = '';
  if (a.memberId !== 0n) s += `memberID:${a.memberId.toString()} `;
  if (a.alarm !== 0) s += `alarm:${ALARM_NAMES[a.alarm] ?? String(a.alarm)} `;
  return s;
}

/** The set of active alarms. Iteration order is deterministic: by type, then by member ID. */
export class AlarmStore {
  private readonly byType = new Map<number, Map<bigint, AlarmMember>>();

  /**
   * Raise `alarm` for `memberId`. Returns the alarm as stored (the existing one when it was already
   * active), or undefined for alarm type NONE (nothing to raise).
   */
  activate(memberId: bigint, alarm: number): AlarmMember | undefined {
    if (alarm === AlarmType.NONE) return undefined;
    let m = this.byType.get(alarm);
    if (!m) this.byType.set(alarm, (m = new Map()));
    const old = m.get(memberId);
    if (old) return old;
    const a = { memberId, alarm };
    m.set(memberId, a);
    return a;
  }

  /** Clear `alarm` of `memberId`. Returns the cleared alarm, or undefined when it was not active. */
  deactivate(memberId: bigint, alarm: number): AlarmMember | undefined {
    const m = this.byType.get(alarm);
    const old = m?.get(memberId);
    if (!m || !old) return undefined;
    m.delete(memberId);
    if (m.size === 0) this.byType.delete(alarm);
    return old;
  }

  /** Active alarms of type `alarm`, or all of them for NONE (etcd alarmStore.Get). */
  get(alarm: number = AlarmType.NONE): AlarmMember[] {
    const types = alarm === AlarmType.NONE ? [...this.byType.keys()].sort((a, b) => a - b) : [alarm];
    const out: AlarmMember[] = [];
    for (const t of types) {
      const m = this.byType.get(t);
      if (!m) continue;
      out.push(...[...m.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0)));
    }
    return out;
  }

  /** True when an alarm of this type is active for any member. */
  has(alarm: number): boolean {
    return (this.byType.get(alarm)?.size ?? 0) > 0;
  }
}
