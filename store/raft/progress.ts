/**
 * The leader's view of one follower: how much of the log it has (match) and what to send next.
 * Follows etcd-io/raft's tracker/progress.go: three states bound how much is in flight.
 *  - Probe: the follower's position is unknown; send one append per heartbeat until one is accepted.
 *  - Replicate: optimistic pipelining, at most `maxInflight` appends in flight.
 *  - Snapshot: a snapshot is on its way; nothing else is sent until it is acknowledged or fails.
 */

export enum ProgressState {
  Probe = 0,
  Replicate = 1,
  Snapshot = 2,
}

/** A bounded window of the last indexes of in-flight append messages. */
export class Inflights {
  private readonly items: number[] = [];
  constructor(readonly capacity: number) {}

  add(lastIndex: number): void {
    if (this.full()) throw new Error('raft: cannot add into a full inflights window');
    this.items.push(lastIndex);
  }

  /** Frees every in-flight message whose last index is <= `index` (they were acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.items.length && this.items[n]! <= index) n++;
    if (n > 0) this.items.splice(0, n);
  }

  /** Frees the oldest slot (lets a stalled pipeline make progress after losses). */
  freeFirstOne(): void {
    this.items.shift();
  }

  full(): boolean {
    return this.items.length >= this.capacity;
  }

  count(): number {
    return this.items.length;
  }

  reset(): void {
    this.items.length = 0;
  }
}

export class Progress {
  /** Highest index known to be replicated on the follower (Figure 2 matchIndex). */
  match = 0;
  /** Index of the next entry to send (Figure 2 nextIndex). */
  next: number;
  state = ProgressState.Probe;
  /** In Probe state: an append was sent and we wait for its answer or the next heartbeat. */
  probeSent = false;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round (§6.2 of the thesis, check quorum). */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged up to `n`; returns whether match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** An append carrying entries up to `n` was sent (pipelining in Replicate state). */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * The follower rejected an append whose previous index was `rejected`; `matchHint` is the
   * highest index it may match (from the rejection hint). Returns false for stale rejections.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), 1);
    this.probeSent = false;
    return true;
  }

  /** Whether sending appends to this follower is currently throttled. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
