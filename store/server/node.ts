/**
 * The node loop (etcd server/etcdserver/raft.go `start`, STYLE.md item 2): owns RawNode + Wal + MemoryStorage
 * + MvccStore. All inputs (ticks, peer messages, proposals, read-index requests) are queued and fed to RawNode
 * only between Ready cycles; each Ready is processed in this order:
 *   leader: send messages first (Raft thesis §10.2.1) | save hard state + entries to the WAL (one fsync) |
 *   append to MemoryStorage | follower: send messages | apply committed entries to MVCC (waking proposers) |
 *   serve read states once applied >= index | advance.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MvccStore } from '../mvcc/kvstore.js';
import type { KeyValue } from '../mvcc/types.js';
import { MemoryStorage, ProposalDroppedError, RawNode, Role, NONE, EntryType, type Entry, type Message, type Ready } from '../raft/index.js';
import { Wal } from '../wal/wal.js';
import type { ServerConfig } from './config.js';
import { errors, EtcdError } from './errors.js';
import type { Logger } from './log.js';
import { initialMembers, type MemberInfo } from './members.js';
import type { Metrics } from './metrics.js';
import { applyKvRequest, type KvApplyResult } from './kv_txn.js';
import { decodeRequest, encodeRequest, type Request, type RequestBody } from './request.js';
import { advertisedEntryVersion, entryV2Allowed } from './entry_codec_gate.js';
import { Lessor, minLeaseTtl } from '../lease/lessor.js';
import { registerLeaseLookup } from './kv_validate.js';
import { applyLeaseOp, type LeaseApplyResult } from './lease_apply.js';
import { LEASE_PEER_SERVICE, leasePeerImpl } from './lease_peer.js';
import { isLeaseOp } from './lease_request.js';
import { LeaseRunner } from './lease_runner.js';
import { AuthStore } from '../auth/store.js';
import { applyAuthOp, type AuthApplyResult } from './auth_apply.js';
import { isAuthOp } from './auth_request.js';
import { Transport } from './transport.js';
import { ClusterManager } from './cluster_node.js';
import { restoreStateSnapshot, encodeStateSnapshot, type StateHost } from './state_snapshot.js';
import { removeUnreferencedSnapshots, SnapshotPolicy } from './snapshot_policy.js';
import { faultSwitches } from './fault_switches.js';
import { leaderChangeLine, snapshotInstalledLine } from './log_fields.js';
import { MaintenanceState } from './maintenance_state.js';
import { handOffLeadership, redeliverable, type HandoffHost } from './leader_handoff.js';
import { durableCommittedPrefix } from './apply_pipeline.js';
import { ReadBatcher } from './read_batch.js';
import { copyTxnSpec } from './own_request.js';
import type { AlarmMember } from './alarm_store.js';
import { loadSnapshotData } from '../snap/restore.js';
import { ADVANCE_WAIT_MS, startElectionTickAdvance } from './election_advance.js';
import { MessageType, type Snapshot } from '../raft/types.js';

/** The result of applying one request. */
export type ApplyResult =
  | { op: 'put'; rev: number; prev?: KeyValue }
  | { op: 'delete'; rev: number; deleted: number; prevKvs: KeyValue[] }
  | { op: 'publish'; rev: number }
  | KvApplyResult
  | LeaseApplyResult
  | AuthApplyResult
  | { op: 'alarm'; rev: number; alarms: AlarmMember[] };

/** A proposer waiting for its entry to be applied; `deadline` (performance.now() ms) ends it with a timeout. */
interface Waiter { resolve: (r: ApplyResult) => void; reject: (e: Error) => void; deadline: number; data?: Uint8Array }

/** How often waiting proposals are checked for their deadline (ms): one timer for all of them, not one each. */
const PROPOSE_SWEEP_MS = 100;
/** A linearizable read waiting for its read index to be applied; `deadline` (Date.now() ms) ends it with a timeout. */
interface ReadWaiter { resolve: () => void; reject: (e: Error) => void; deadline: number }

/** How often waiting reads are checked for their deadline and an unanswered ReadIndex for a resend (ms). */
const READ_SWEEP_MS = 100;

/** Thrown by QuorumNode.start when the data dir or flags make starting unsafe. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** A running member. */
export class QuorumNode {
  readonly mvcc = new MvccStore();
  /** Alarms, space quota, backend size model, hashes (maintenance_state.ts). */
  readonly maintenance: MaintenanceState;
  /** Leases (store/lease): replicated grants/revokes/attachments; expiry run by the leader (lease_runner.ts). */
  readonly lessor: Lessor;
  /** Users, roles, permissions, tokens (store/auth); changed only by applied auth entries (auth_apply.ts). */
  readonly auth: AuthStore;
  private readonly leaseRunner: LeaseRunner;
  readonly members: MemberInfo[];
  /** Assigned at start: derived from the flags, or learned when joining an existing cluster. */
  memberId: bigint;
  clusterId: bigint;
  /** Runtime reconfiguration: conf changes, joining, MemberInfo, learner readiness (cluster_node.ts). */
  readonly cluster: ClusterManager;
  /** The time a client request may wait for commit/apply: 5 s + 2 x election timeout, as etcd. */
  readonly requestTimeoutMs: number;
  private raft!: RawNode;
  private storage!: MemoryStorage;
  private wal!: Wal;
  /** Snapshot + compaction (snapshot_policy.ts). */
  private snapshots!: SnapshotPolicy;
  /** Followers we sent MsgSnap to and have not heard back about: peer -> snapshot index (etcd ReportSnapshot). */
  private readonly pendingSnaps = new Map<bigint, number>();
  private transport!: Transport;
  private inbox: (() => void)[] = [];
  private looping = false;
  private stopped = false;
  private ticker: NodeJS.Timeout | undefined;
  private appliedIndex = 0;
  /** The last log index this member's WAL holds synced (saves with entries always fdatasync); applying waits for it. */
  private durableIndex = 0;
  private lead: bigint = NONE;
  private role: Role = Role.Follower;
  private term = 0;
  /** The hard state last written to the WAL (term/vote changes force an fsync: etcd's raft.MustSync). */
  private savedHard: { term: number; vote: bigint } = { term: 0, vote: NONE };
  /** Waiting proposers by request ID, in proposal order (= deadline order: every deadline is now + requestTimeoutMs). */
  private readonly waiters = new Map<string, Waiter>();
  private proposeSweep: NodeJS.Timeout | undefined;
  /**
   * Puts and txns (own_request.ts) this member proposed and has not applied yet, by their entry data (raft hands
   * the same Uint8Array back in committedEntries): apply takes the request from here instead of decoding the entry
   * again (a proposing leader's hot path). Each request equals what decodeRequest returns for its data. Cleared when its waiter settles.
   */
  private readonly ownPuts = new Map<Uint8Array, Request>();
  /** False while the WAL is replayed at start (a replayed publish must not make this member publish again). */
  private live = false;
  /** A publish answering another member's `refresh` is queued (at most one at a time). */
  private republishing = false;
  /** Linearizable reads: one ReadIndex per batch of waiting reads (read_batch.ts). */
  private readonly readBatch = new ReadBatcher<ReadWaiter>(randomBytes(8));
  /** A pumpReads is queued in the inbox / on the no-leader queue (at most one each). */
  private readPumpQueued = false;
  private readPumpParked = false;
  private readSweep: NodeJS.Timeout | undefined;
  private noLeaderQueue: (() => void)[] = [];
  private readonly idPrefix = randomBytes(6).toString('hex');
  private nextId = 1;
  private leaderListeners: ((lead: bigint) => void)[] = [];
  private readonly log: Logger;

  private constructor(
    readonly cfg: ServerConfig,
    log: Logger,
    private readonly metrics: Metrics,
    private readonly onFatal: (e: Error) => void,
  ) {
    this.log = log.child('etcdserver');
    const im = initialMembers(cfg);
    this.members = im.members;
    this.memberId = im.selfId;
    this.clusterId = im.clusterId;
    this.requestTimeoutMs = 5000 + 2 * cfg.electionTimeoutMs;
    this.cluster = new ClusterManager({
      cfg, log: this.log, requestTimeoutMs: this.requestTimeoutMs, members: this.members,
      memberId: () => this.memberId, raft: () => this.raft, transport: () => this.transport,
      enqueue: (fn) => this.enqueue(fn), leader: () => this.lead, isLeader: () => this.role === Role.Leader, onFatal,
    });
    this.maintenance = new MaintenanceState(this, cfg.quotaBackendBytes);
    this.auth = new AuthStore({ tokenTtlMs: (cfg.authTokenTtlSec ?? 300) * 1000 });
    this.lessor = new Lessor({ minTtl: minLeaseTtl(cfg.heartbeatIntervalMs, cfg.electionTimeoutMs) });
    this.mvcc.onCommit((_rev, events) => this.lessor.observe(events));
    registerLeaseLookup(this, (id) => this.lessor.has(id));
    this.leaseRunner = new LeaseRunner(this.lessor, (b) => this.propose(b), cfg.electionTimeoutMs, this.log.child('lease'));
  }

  /**
   * Open or create the WAL, rebuild state, start the peer transport and the ticker.
   * Throws StartupError when the data dir holds another member's/cluster's WAL, or when
   * initial-cluster-state=existing and there is no WAL; rejects when a peer port cannot be bound.
   */
  static async start(cfg: ServerConfig, log: Logger, metrics: Metrics, onFatal: (e: Error) => void): Promise<QuorumNode> {
    const n = new QuorumNode(cfg, log, metrics, onFatal);
    await n.open();
    return n;
  }

  private async open(): Promise<void> {
    const walDir = join(this.cfg.dataDir, 'member', 'wal');
    const joined = this.cluster.loadBootstrap(this.cfg.initialClusterState === 'existing') ??
      (!Wal.exists(walDir) && this.cfg.initialClusterState === 'existing' ? await this.cluster.join() : undefined);
    if (joined) {
      this.memberId = joined.memberId;
      this.clusterId = joined.clusterId;
    }
    const { voters, learners } = this.cluster.membership.confState();
    this.storage = new MemoryStorage(voters, learners);
    const onFsync = (s: number) => this.metrics.walFsync.observe(s);
    const walOpts = { onFsync, ...faultSwitches().walOptions };
    let applied = 0;
    if (Wal.exists(walDir)) {
      const r = await Wal.open(walDir, walOpts);
      if (r.meta.memberId !== this.memberId || r.meta.clusterId !== this.clusterId) {
        await r.wal.close();
        throw new StartupError(
          `data-dir ${this.cfg.dataDir} holds the WAL of member ${r.meta.memberId.toString(16)} in cluster ${r.meta.clusterId.toString(16)}, ` +
            `but --name/--initial-cluster/--initial-cluster-token make this member ${this.memberId.toString(16)} in cluster ${this.clusterId.toString(16)} ` +
            `(fix: correct the flags, or move the data dir away if it is left over from another cluster)`,
        );
      }
      this.wal = r.wal;
      // A data dir written by `snapshot restore` has a WAL but no bootstrap record yet: the flags just matched it,
      // so record them now; later restarts with initial-cluster-state=existing then ignore the flags (etcd does).
      if (!joined && !existsSync(join(this.cfg.dataDir, 'member', 'bootstrap.json'))) this.cluster.saveBootstrap(false, this.memberId, this.clusterId);
      await removeUnreferencedSnapshots(this.cfg.dataDir, r.snapshot?.index ?? 0, this.log, this.memberId);
      if (r.snapshot && r.snapshot.index > 0) {
        // the newest snapshot the WAL refers to (taken by snapshot_policy.ts, or a restored backup: store/snap/restore.ts)
        const snap = await loadSnapshotData(this.cfg.dataDir, r.snapshot.index);
        if (!snap) {
          await r.wal.close();
          throw new StartupError(
            `data-dir ${this.cfg.dataDir}: the WAL starts from the snapshot at index ${r.snapshot.index} but member/snap has no file for it ` +
              `(fix: restore the snapshot file, or remove this member and add it back with an empty data dir)`,
          );
        }
        // no watcher yet: no replay; the snapshot file's CRC (checked by loadSnapshotData) covers the data: no second CRC pass
        restoreStateSnapshot(this.stateHost(), snap.data, { starting: true, crcChecked: true });
        const cs = this.cluster.membership.confState();
        const meta = { ...r.snapshot, voters: cs.voters.length > 0 ? cs.voters : r.snapshot.voters, ...(cs.learners.length > 0 ? { learners: cs.learners } : {}) };
        this.storage.applySnapshot({ meta, data: snap.data });
        applied = r.snapshot.index;
        this.log.info('recovered from snapshot', { 'local-member-id': this.memberId, 'snapshot-index': r.snapshot.index, revision: this.mvcc.rev() });
      }
      this.storage.setHardState(r.hardState);
      this.storage.append(r.entries);
      for (const e of r.entries) {
        if (e.index <= applied || e.index > r.hardState.commit) continue;
        this.applyEntry(e);
        applied = e.index;
      }
      this.term = r.hardState.term;
      this.savedHard = r.hardState;
      this.log.info('restarted member from WAL', {
        'local-member-id': this.memberId, 'cluster-id': this.clusterId, term: r.hardState.term, commit: r.hardState.commit,
        'entries': r.entries.length, revision: this.mvcc.rev(),
      });
    } else {
      // (initial-cluster-state=existing: joined above, see cluster_node.ts)
      if (!joined) this.cluster.saveBootstrap(false, this.memberId, this.clusterId);
      this.wal = await Wal.create(walDir, { memberId: this.memberId, clusterId: this.clusterId }, walOpts);
      this.log.info('starting a new member', { 'local-member-id': this.memberId, 'cluster-id': this.clusterId, 'initial-cluster': this.members.map((m) => m.name) });
    }
    this.appliedIndex = applied;
    this.durableIndex = this.storage.lastIndex();
    this.snapshots = new SnapshotPolicy({
      dataDir: this.cfg.dataDir, storage: this.storage, wal: this.wal, log: this.log, memberId: this.memberId,
      encodeState: () => encodeStateSnapshot(this.stateHost()), confState: () => this.cluster.membership.confState(),
    }, this.cfg.snapshot);
    this.snapshots.snapshotIndex = this.storage.snapshotMeta().index;
    this.raft = new RawNode({
      id: this.memberId,
      voters,
      electionTick: Math.max(2, Math.round(this.cfg.electionTimeoutMs / this.cfg.heartbeatIntervalMs)),
      heartbeatTick: 1,
      storage: this.storage,
      applied,
      preVote: true,
      checkQuorum: true,
      seed: randomInt(1, 2 ** 31),
    });
    this.cluster.afterReplay();
    const peers = new Map(this.members.map((m) => [m.id, m.peerUrls]));
    this.transport = new Transport({
      selfId: this.memberId,
      clusterId: this.clusterId,
      peers,
      tls: this.cfg.peerTls,
      log: this.log.child('rafthttp'),
      handler: {
        onMessages: (msgs) => this.enqueue(() => { for (const m of msgs) this.stepSafe(m); }),
        onUnreachable: (id) => this.enqueue(() => {
          this.raft.reportUnreachable(id);
          this.snapshotSent(id, true); // a MsgSnap still in flight on the failed stream is lost
        }),
        memberInfo: () => this.cluster.memberInfo(this.cfg.name, this.cfg.advertiseClientUrls),
        isRemoved: (id) => this.cluster.membership.removed.has(id),
        onRemoved: () => this.cluster.removedByPeer(),
      },
      onReceived: (peer, bytes) => this.metrics.peerReceivedBytes.inc({ From: peer.toString(16) }, bytes),
      onSent: (peer, ok, seconds, bytes) => {
        if (ok) this.metrics.peerRtt.observe({ To: peer.toString(16) }, seconds);
        if (ok && bytes) this.metrics.peerSentBytes.inc({ To: peer.toString(16) }, bytes);
        else this.metrics.peerSentFailures.inc({ To: peer.toString(16) });
      },
      services: [{ definition: LEASE_PEER_SERVICE, impl: leasePeerImpl(this) }],
    });
    await this.transport.listen(this.cfg.listenPeerUrls);
    this.ticker = setInterval(() => this.enqueue(() => {
      this.raft.tick();
      this.retryDropped();
    }), this.cfg.heartbeatIntervalMs);
    this.live = true;
    this.onLeader(() => this.publish());
    this.maintenance.started();
    if (this.cfg.initialElectionTickAdvance !== false) this.advanceElectionTicks(); // etcd --initial-election-tick-advance
  }

  /** Fast-forwards the election timer of a member that just started (election_advance.ts). */
  private advanceElectionTicks(): void {
    const r = this.raft;
    startElectionTickAdvance({
      selfId: this.memberId,
      electionTick: Math.max(2, Math.round(this.cfg.electionTimeoutMs / this.cfg.heartbeatIntervalMs)),
      voters: () => r.confState().voters, // Raft's own configuration: what an election is counted against
      leader: () => r.status().lead,
      isFollower: () => r.status().role === Role.Follower,
      electionElapsed: () => r.raft.electionElapsed,
      tick: () => r.tick(),
      peerActive: (id) => this.transport.isActive(id, ADVANCE_WAIT_MS),
      enqueue: (fn) => this.enqueue(fn),
    }, (o) => this.log.info('initial election tick advance', { 'local-member-id': this.memberId, ...o }));
  }

  private stepSafe(m: Message, since = Date.now()): void {
    try {
      // a forwarded proposal/read dropped for want of a leader: step it again once one is known (leader_handoff.ts)
      if (!this.raft.stepOrDropped(m) && redeliverable(m, since, this.requestTimeoutMs)) {
        this.noLeaderQueue.push(() => { if (Date.now() - since < this.requestTimeoutMs) this.stepSafe(m, since); });
      }
    } catch (e) {
      this.log.debug('dropped a peer message', { error: (e as Error).message, type: m.type, from: m.from });
    }
  }

  /**
   * Steps again, once per tick, the requests raft dropped while a leader is known: a leadership transfer refuses
   * proposals (Raft thesis §3.10) and, when abandoned after an election timeout, leaves the same leader, so no leader
   * change would ever release them. Each one re-queues itself if raft drops it again; nothing was appended for it.
   */
  private retryDropped(): void {
    if (this.lead === NONE || this.noLeaderQueue.length === 0) return;
    const queued = this.noLeaderQueue;
    this.noLeaderQueue = [];
    for (const fn of queued) fn();
  }

  /** Queue an input for RawNode and make sure the loop runs. */
  private enqueue(fn: () => void): void {
    if (this.stopped) return;
    this.inbox.push(fn);
    if (!this.looping) {
      this.looping = true;
      setImmediate(() => void this.loop());
    }
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const inputs = this.inbox;
        this.inbox = [];
        for (const fn of inputs) fn();
        if (!this.raft.hasReady()) {
          if (this.inbox.length === 0) return;
          continue;
        }
        const rd = this.raft.ready();
        await this.handleReady(rd);
        if (this.stopped) return;
        this.raft.advance(rd);
      }
    } catch (e) {
      this.log.error('node loop failed', { error: (e as Error).stack ?? String(e) });
      this.onFatal(e as Error);
    } finally {
      this.looping = false;
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState) this.onSoftState(rd.softState.leader, rd.softState.role);
    if (rd.hardState) this.term = rd.hardState.term;
    const isLeader = this.role === Role.Leader;
    if (isLeader) this.sendMessages(rd.messages);
    if (rd.snapshot) {
      await this.installSnapshot(rd.snapshot);
      this.durableIndex = rd.snapshot.meta.index; // the log is replaced by the (now persisted) snapshot
    }
    // committed entries this member had already synced before this Ready (pipelining, Raft thesis §10.2.1): applied
    // (and their proposers answered) while this Ready's own write + fdatasync is in flight; the rest after it
    const early = rd.snapshot ? 0 : durableCommittedPrefix(rd.committedEntries, this.durableIndex, rd.entries[0]?.index);
    if (rd.hardState || rd.entries.length > 0) {
      // etcd's raft.MustSync: fsync only when entries were appended or term/vote changed; a Ready that only moves
      // the commit index is written unsynced (a lost commit index is re-learnt from the leader after a crash)
      const hs = rd.hardState;
      const mustSync = rd.entries.length > 0 || (hs !== undefined && (hs.term !== this.savedHard.term || hs.vote !== this.savedHard.vote));
      const saving = this.wal.save(hs, rd.entries, { sync: mustSync });
      if (early > 0) {
        await null; // one microtask: the WAL has issued its write and fdatasync (wal.ts append) before we apply
        this.applyCommitted(rd.committedEntries.slice(0, early));
      }
      await saving;
      if (hs) this.savedHard = hs;
      if (rd.entries.length > 0) this.durableIndex = rd.entries[rd.entries.length - 1].index; // entries are always synced
    } else if (early > 0) this.applyCommitted(rd.committedEntries.slice(0, early));
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    this.storage.append(rd.entries);
    if (!isLeader) this.sendMessages(rd.messages);
    if (rd.committedEntries.length > early) this.applyCommitted(early > 0 ? rd.committedEntries.slice(early) : rd.committedEntries);
    if (rd.committedEntries.length > 0) await this.snapshots.maybeSnapshot(this.appliedIndex); // every snapshot-count entries (snapshot_policy.ts)
    let answered = false;
    for (const rs of rd.readStates) answered = this.readBatch.answered(rs.requestCtx, rs.index) || answered;
    if (answered) this.queueReadPump(); // reads that arrived meanwhile: the next ReadIndex
    this.serveReads();
  }

  /** Applies committed entries in order (waking their proposers) and updates the apply metrics. */
  private applyCommitted(ents: Entry[]): void {
    this.metrics.proposalsCommitted.set(ents[ents.length - 1].index);
    this.metrics.applyBegin();
    for (const e of ents) {
      this.applyEntry(e);
      this.appliedIndex = e.index;
    }
    this.metrics.proposalsApplied.set(this.appliedIndex);
    this.metrics.applyDone(); // etcd_disk_backend_commit_duration_seconds
    this.metrics.dbTotalSize.set(this.maintenance.dbSize());
    this.metrics.dbSizeInUse.set(this.maintenance.dbSizeInUse());
  }

  /** The replicated state machines a snapshot is taken from and restored into (state_snapshot.ts). */
  private stateHost(): StateHost {
    return {
      mvcc: this.mvcc, lessor: this.lessor, auth: this.auth, members: this.members,
      removed: this.cluster.membership.removed, alarms: this.maintenance.alarms,
    };
  }

  /**
   * MsgSnap from the leader (Raft §7; a member that fell behind the leader's compacted log, or one joining a
   * cluster restored from a backup): durable first (snapshot file, WAL record), then the applied state replaced.
   */
  private async installSnapshot(snap: Snapshot): Promise<void> {
    await this.snapshots.persist(snap);
    const out = restoreStateSnapshot(this.stateHost(), snap.data);
    for (const id of out.removedIds) this.transport.removePeer(id);
    for (const m of out.added) this.transport.addPeer(m.id, m.peerUrls);
    for (const m of out.changedUrls) this.transport.updatePeer(m.id, m.peerUrls);
    const snapLine = snapshotInstalledLine(this.memberId, snap.meta, this.appliedIndex);
    this.log.info(snapLine.msg, { ...snapLine.fields, 'snapshot-size-bytes': snap.data.length, 'replayed-revisions': out.replayedRevisions, revision: this.mvcc.rev() });
    this.metrics.proposalsApplied.set(snap.meta.index);
    this.appliedIndex = snap.meta.index;
    void this.snapshots.purge().catch((e: Error) => this.log.warn('purging old snapshots failed', { error: e.message }));
  }

  /** Hands messages to the transport; remembers MsgSnap so that its loss can be reported to raft. */
  private sendMessages(msgs: Message[]): void {
    for (const m of msgs) {
      if (m.type !== MessageType.Snap || !m.snapshot) continue;
      const index = m.snapshot.meta.index;
      this.pendingSnaps.set(m.to, index);
      this.log.info('sending database snapshot', { 'remote-peer-id': m.to.toString(16), 'snapshot-index': index, 'size-bytes': m.snapshot.data.length });
      // no answer (AppResp) within a generous time: report failure so raft probes and resends (etcd ReportSnapshot)
      setTimeout(() => this.enqueue(() => {
        if (this.pendingSnaps.get(m.to) === index) this.snapshotSent(m.to, true);
      }), 10_000 + 2 * this.cfg.electionTimeoutMs).unref();
    }
    this.transport.send(msgs);
  }

  /** The fate of a MsgSnap to `to` is known: tell raft (a no-op unless its progress still waits for it). */
  private snapshotSent(to: bigint, failed: boolean): void {
    if (!this.pendingSnaps.delete(to)) return;
    this.raft.reportSnapshot(to, failed);
  }

  /** Serves the reads whose read index this member has applied. */
  private serveReads(): void {
    for (const w of this.readBatch.release(this.appliedIndex)) w.resolve();
  }

  /** Runs pumpReads from the loop (once, however many reads arrive before it runs). */
  private queueReadPump(): void {
    if (this.readPumpQueued) return;
    this.readPumpQueued = true;
    this.enqueue(() => {
      this.readPumpQueued = false;
      this.pumpReads();
    });
  }

  /**
   * In the loop: sends the ReadIndex for the reads waiting now, unless one is in flight (they wait for the next;
   * etcd's linearizableReadLoop). Without a leader (or while raft drops it) it is asked again once one is known.
   */
  private pumpReads(): void {
    const ctx = this.readBatch.request();
    if (ctx === undefined) return;
    if (this.lead !== NONE) {
      try {
        this.raft.readIndex(ctx);
        this.readBatch.sent(Date.now());
        return;
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) throw e;
      }
    }
    if (this.readPumpParked) return;
    this.readPumpParked = true;
    this.noLeaderQueue.push(() => {
      this.readPumpParked = false;
      this.pumpReads();
    });
  }

  /**
   * Every READ_SWEEP_MS while reads wait: ends reads past their deadline with today's timeout errors and asks
   * again for a ReadIndex unanswered for max(500 ms, 2 election timeouts) (lost on a leader change).
   */
  private sweepReads(): void {
    this.readSweep = undefined;
    const now = Date.now();
    for (const w of this.readBatch.expire((r) => r.deadline <= now)) {
      w.reject(this.lead === NONE ? errors.timeoutLeaderFail() : errors.timeout());
    }
    if (this.readBatch.resend(now, Math.max(500, 2 * this.cfg.electionTimeoutMs))) this.queueReadPump();
    if (this.readBatch.size > 0 && !this.stopped) {
      this.readSweep = setTimeout(() => this.sweepReads(), READ_SWEEP_MS);
      this.readSweep.unref();
    }
  }

  private onSoftState(lead: bigint, role: Role): void {
    const changed = lead !== this.lead;
    this.role = role;
    this.leaseRunner.roleChanged(role === Role.Leader);
    if (changed) {
      if (lead !== NONE) this.metrics.leaderChanges.inc();
      this.lead = lead;
      const st = this.raft.status();
      const line = leaderChangeLine(this.memberId, lead, st.term, st.commit);
      this.log.info(line.msg, line.fields);
      if (lead !== NONE) {
        const queued = this.noLeaderQueue;
        this.noLeaderQueue = [];
        for (const fn of queued) this.enqueue(fn);
        for (const l of this.leaderListeners.splice(0)) l(lead);
      }
    }
    this.metrics.hasLeader.set(lead !== NONE ? 1 : 0);
    this.metrics.isLeader.set(role === Role.Leader ? 1 : 0);
  }

  private applyEntry(e: Entry): void {
    if (e.type === EntryType.ConfChange) {
      this.cluster.applyConfEntry(e);
      return;
    }
    if (e.type !== EntryType.Normal || e.data.length === 0) return;
    let req = this.ownPuts.get(e.data);
    if (req) this.ownPuts.delete(e.data);
    else {
      try {
        req = decodeRequest(e.data);
      } catch (err) {
        // skipping it would let this member's state diverge from the others': stop instead (etcd panics)
        const msg = `cannot decode the committed entry at index ${e.index} (term ${e.term}, ${e.data.length} bytes): ${(err as Error).message}`;
        this.log.error('cannot decode a committed entry; stopping this member', { index: e.index, term: e.term, error: (err as Error).message });
        throw new Error(`${msg} (fix: run a quorumd release that decodes it; entry encoding v2 needs this release or newer)`);
      }
    }
    const b = req.body;
    const gate = this.maintenance.beforeApply(b); // NOSPACE alarm and space quota (maintenance_state.ts)
    if (gate.reject) return this.rejectWaiter(req.id, gate.reject);
    let result: ApplyResult;
    if (b.op === 'put') {
      const r = this.mvcc.put(b.key, b.value, b.lease);
      result = { op: 'put', rev: r.rev, prev: r.prev };
    } else if (b.op === 'delete') {
      const r = this.mvcc.deleteRange(b.key, b.rangeEnd.length > 0 ? b.rangeEnd : undefined);
      result = { op: 'delete', rev: r.rev, deleted: r.deleted, prevKvs: r.prevKvs };
    } else if (b.op === 'txn' || b.op === 'compact') {
      result = applyKvRequest(this.mvcc, this, b);
    } else if (isAuthOp(b)) {
      result = applyAuthOp(this.auth, b, e.index, this.mvcc.rev());
    } else if (isLeaseOp(b)) {
      result = applyLeaseOp(this.lessor, this.mvcc, b, e.index);
    } else if (b.op === 'alarm') {
      result = { op: 'alarm', rev: this.mvcc.rev(), alarms: this.maintenance.applyAlarm(b) };
    } else {
      const m = this.members.find((x) => x.id === b.memberId);
      if (m) {
        m.clientUrls = [...b.clientUrls];
        m.name = b.name; // a member added at runtime gets its name when it publishes (etcd)
        if (b.entryVersion !== undefined) m.entryVersion = b.entryVersion; // entry_codec_gate.ts
        else delete m.entryVersion; // a pre-v2 build (or a rollback) published: the gate closes
      }
      if (b.refresh && b.memberId !== this.memberId && this.live && !this.republishing && advertisedEntryVersion() !== undefined) {
        this.republishing = true; // the publisher's view of us may be stale: publish ourselves again, once
        setImmediate(() => this.publish(false));
      }
      result = { op: 'publish', rev: this.mvcc.rev() };
    }
    const quotaErr = this.maintenance.afterApply(gate);
    if (quotaErr) return this.rejectWaiter(req.id, quotaErr);
    const w = this.waiters.get(req.id);
    if (w) {
      this.waiters.delete(req.id);
      if (w.data) this.ownPuts.delete(w.data);
      this.metrics.proposalsPending.dec();
      w.resolve(result);
    }
  }

  /** Answer the proposer of request `id` (if it is waiting here) with `err`. */
  private rejectWaiter(id: string, err: Error): void {
    const w = this.waiters.get(id);
    if (!w) return;
    this.waiters.delete(id);
    if (w.data) this.ownPuts.delete(w.data);
    this.metrics.proposalsPending.dec();
    w.reject(err);
  }

  /**
   * Every PROPOSE_SWEEP_MS while proposals wait: ends those past their deadline with "etcdserver: request timed
   * out" (or "... possibly due to previous leader failure" without a leader), oldest first.
   */
  private sweepProposals(): void {
    this.proposeSweep = undefined;
    const now = performance.now();
    for (const [id, w] of this.waiters) {
      if (w.deadline > now) break;
      this.waiters.delete(id);
      if (w.data) this.ownPuts.delete(w.data);
      this.metrics.proposalsPending.dec();
      this.metrics.proposalsFailed.inc();
      w.reject(this.lead === NONE ? errors.timeoutLeaderFail() : errors.timeout());
    }
    if (this.waiters.size > 0 && !this.stopped) this.proposeSweep = setTimeout(() => this.sweepProposals(), PROPOSE_SWEEP_MS);
  }

  /**
   * Propose a write and wait until it is applied here. Waits for a leader when there is none.
   * Rejects with EtcdError "etcdserver: request timed out" after requestTimeoutMs, "server stopped" on stop,
   * "etcdserver: mvcc: database space exceeded" over the space quota or while NOSPACE is active (maintenance_state.ts).
   */
  propose(body: RequestBody): Promise<ApplyResult> {
    if (this.stopped) return Promise.reject(errors.stopped());
    const denied = this.maintenance.checkPropose(body); // space quota (maintenance_state.ts)
    if (denied) return Promise.reject(denied);
    const id = `${this.idPrefix}-${this.nextId++}`;
    const data = encodeRequest({ id, body }, { v2: entryV2Allowed(this.members) }); // entry_codec_gate.ts
    const own = body.op === 'put' || body.op === 'txn';
    // fresh copies, as decodeRequest would make them (the client's buffers may be views into a larger gRPC buffer)
    if (body.op === 'put') this.ownPuts.set(data, { id, body: { op: 'put', key: new Uint8Array(body.key), value: new Uint8Array(body.value), lease: body.lease, prevKv: !!body.prevKv } });
    else if (own) this.ownPuts.set(data, { id, body: { op: 'txn', txn: copyTxnSpec(body.txn) } }); // own_request.ts
    return new Promise<ApplyResult>((resolve, reject) => {
      this.waiters.set(id, { resolve, reject, deadline: performance.now() + this.requestTimeoutMs, data: own ? data : undefined });
      if (this.proposeSweep === undefined) this.proposeSweep = setTimeout(() => this.sweepProposals(), PROPOSE_SWEEP_MS);
      this.metrics.proposalsPending.inc();
      const attempt = () => {
        if (!this.waiters.has(id)) return;
        if (this.lead === NONE) {
          this.noLeaderQueue.push(attempt);
          return;
        }
        try {
          this.raft.propose(data);
        } catch (e) {
          if (e instanceof ProposalDroppedError) {
            this.noLeaderQueue.push(attempt);
            return;
          }
          this.waiters.delete(id);
          if (own) this.ownPuts.delete(data);
          this.metrics.proposalsPending.dec();
          this.metrics.proposalsFailed.inc();
          reject(e as Error);
        }
      };
      this.enqueue(attempt);
    });
  }

  /**
   * Linearizable read barrier (read index, Raft thesis §6.4): resolves once this member has applied everything
   * committed when the read was issued. Rejects with "etcdserver: request timed out" after requestTimeoutMs.
   */
  readBarrier(): Promise<void> {
    if (this.stopped) return Promise.reject(errors.stopped());
    return new Promise<void>((resolve, reject) => {
      this.readBatch.add({ resolve, reject, deadline: Date.now() + this.requestTimeoutMs });
      if (this.readSweep === undefined) {
        this.readSweep = setTimeout(() => this.sweepReads(), READ_SWEEP_MS);
        this.readSweep.unref();
      }
      this.queueReadPump();
    });
  }

  /**
   * Publishes this member's name, client URLs and entry encoding (entry_codec_gate.ts) through Raft. On start
   * (`start`), asks the others to publish again when this member's view does not show them all on v2 yet.
   */
  private publish(start = true): void {
    const self = { clientUrls: this.cfg.advertiseClientUrls };
    if (!this.members.some((m) => m.id === this.memberId)) {
      // a joining member publishes once it has applied its own addition
      if (!this.stopped) setTimeout(() => this.publish(start), 200).unref();
      return;
    }
    const entryVersion = advertisedEntryVersion();
    const others = this.members.filter((m) => m.id !== this.memberId);
    const refresh = start && entryVersion !== undefined && others.length > 0 && !entryV2Allowed(others);
    const body: RequestBody = {
      op: 'publish', memberId: this.memberId, name: this.cfg.name, clientUrls: self.clientUrls,
      ...(entryVersion !== undefined ? { entryVersion } : {}), ...(refresh ? { refresh } : {}),
    };
    this.propose(body).then(
      () => {
        if (!start) this.republishing = false;
        this.log.info('published local member to cluster through raft', { 'local-member-id': this.memberId, 'client-urls': self.clientUrls, 'entry-version': entryVersion ?? 1 });
      },
      (e: Error) => {
        if (this.stopped) return;
        this.log.warn('failed to publish local member; retrying', { error: e.message });
        setTimeout(() => this.publish(start), 500).unref();
      },
    );
  }

  /** Call `fn` once, the next time (or now, if already) a leader is known. */
  onLeader(fn: (lead: bigint) => void): void {
    if (this.lead !== NONE) fn(this.lead);
    else this.leaderListeners.push(fn);
  }

  /** Current leader ID (0n when none), term, applied index, raft index (last log index) and role. */
  info(): { leader: bigint; term: number; applied: number; raftIndex: number; isLeader: boolean } {
    const s = this.raft.status();
    return { leader: this.lead, term: s.term, applied: this.appliedIndex, raftIndex: s.commit, isLeader: this.role === Role.Leader };
  }

  /** The current raft term (for response headers). */
  raftTerm(): number {
    return this.raft.status().term;
  }

  private handoffHost(): HandoffHost {
    return {
      isLeader: () => this.role === Role.Leader, memberId: () => this.memberId, leader: () => this.lead,
      voters: () => this.cluster.membership.confState().voters, progress: () => this.raft.progress(),
      peerActive: (id, ms) => this.transport.isActive(id, ms), moveLeader: (to) => this.cluster.moveLeader(to),
      heartbeatIntervalMs: this.cfg.heartbeatIntervalMs, electionTimeoutMs: this.cfg.electionTimeoutMs, log: this.log,
    };
  }

  /** Stop ticking, fail waiters with "server stopped", close the transport and the WAL. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    // etcd's Stop: a leader first hands leadership to a peer (leader_handoff.ts), within main's exit deadline
    if (this.raft && this.transport) await handOffLeadership(this.handoffHost(), 2000);
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.leaseRunner.stop();
    if (this.proposeSweep) clearTimeout(this.proposeSweep);
    for (const w of this.waiters.values()) w.reject(errors.stopped());
    this.waiters.clear();
    this.ownPuts.clear();
    if (this.readSweep) clearTimeout(this.readSweep);
    for (const w of this.readBatch.drain()) w.reject(errors.stopped());
    this.cluster.stop();
    await this.transport.close();
    // wait for an in-progress Ready to finish its WAL write before closing
    for (let i = 0; i < 200 && this.looping; i++) await new Promise((r) => setTimeout(r, 5));
    await this.wal.close();
  }
}

export { EtcdError };
