import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KV } from 'nats';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { errorMessage, isWrongRevision } from './kv-errors.js';
import { clampTimeout, deadNodes, heartbeatIntervalMs, LiveClock, silenceLimitMs, type HeardNode } from './node-liveness.js';
import { cleanupKey, nodeKey } from './state-keys.js';
import { decodeStateRecord, encodeStateRecord, StateRecordError, type NodeRecord } from './state-records.js';
import type { StateChange, StateView, ViewEntry } from './state-view.js';

export interface NodeRegistryOptions {
  kv: KV;
  /** The cleanup election bucket (CLEANUP_BUCKET): one key created per removal of a node's leftovers. */
  cleanups: KV;
  view: StateView;
  connected: () => boolean;
  nodeId: string;
  timeoutMs: number;
  log: Logger;
  /** Participants were removed from these rooms (a dead node's, a previous life's): delete the room records left empty. */
  participantsRemoved(rooms: Set<string>, participantIds: Set<string>): Promise<void>;
  /** A heartbeat was written but did not come back through the feed in two intervals: the watch is stalled. */
  feedStalled(): void;
  /** Local monotonic clock, ms. */
  now?: () => number;
}

/** What one removal of a node's records did. */
export interface RemovalCounts {
  participant: number;
  track: number;
  identity: number;
}

/**
 * Heartbeats written at once at most (while NATS is slow to answer), counting
 * only those started within the last two intervals: one stuck until the KV
 * timeout (3 s, longer than a short node timeout's silence limit) must not
 * keep this node from heartbeating once NATS answers again, or the others,
 * whose own writes came back sooner, would judge it dead.
 */
const MAX_HEARTBEATS_IN_FLIGHT = 3;

/** An election this node lost: the winner is removing the leftovers seen at `revision`. */
interface LostElection {
  revision: number;
  round: number;
  lostAt: number;
}

/**
 * Node liveness (node-liveness.ts says how a node is judged): this node's
 * heartbeat, the others' as heard through the state feed, and the removal of
 * what a node that is gone left behind: its heartbeat key, participants,
 * tracks and identity holds.
 *
 * A removal is decided once cluster-wide by creating a key in the cleanup
 * bucket named after the node and the highest revision among its leftovers
 * (`<node>.<revision>.<round>`): every node whose feed is current computes
 * the same name, and only one create can succeed. Creates are used, not a
 * compare-and-set on the node's key, because nats-server before 2.9.21
 * checks an expected revision other than 0 before the replicated write only,
 * so concurrent compare-and-sets can all succeed (nats-server#4320); an
 * expected "no value" is checked in the write itself. The winner deletes the
 * leftovers it saw, so each is deleted exactly once. If the same leftovers
 * are still there two node timeouts after an election was lost (its winner
 * died too), the next round is elected.
 *
 * On start, the node first removes whatever its previous life left (records
 * carrying its own id), through the same election.
 */
export class NodeRegistry {
  readonly instanceId = randomBytes(8).toString('hex');
  private readonly startedAtMs = Date.now();
  private readonly clock: LiveClock;
  private readonly heard = new Map<string, HeardNode & { receivedAt: number }>();
  /** Owners of records without a heartbeat, since when (LiveClock). */
  private readonly orphanSince = new Map<string, number>();
  private readonly removing = new Set<string>();
  private readonly lost = new Map<string, LostElection>();
  private readonly warnings: RateLimitedLog;
  private readonly now: () => number;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** When each heartbeat still waiting for its write started (local clock). */
  private readonly heartbeatsInFlight = new Set<{ startedAt: number }>();
  /** The first heartbeat written since the last one heard back: its revision and when it was acknowledged. */
  private unheard: { revision: number; at: number } | undefined;
  private heardRevision = 0;
  private stopped = false;

  constructor(private readonly options: NodeRegistryOptions) {
    this.warnings = new RateLimitedLog(options.log);
    this.now = options.now ?? (() => performance.now());
    this.clock = new LiveClock(this.heartbeatIntervalMs);
  }

  get heartbeatIntervalMs(): number {
    return heartbeatIntervalMs(this.options.timeoutMs);
  }

  /** Removes the previous life's records, writes the first heartbeat, and starts beating (and so judging). */
  async start(): Promise<void> {
    await this.removePreviousLife();
    await this.heartbeat();
    if (this.stopped) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatIntervalMs);
  }

  /** A change of a node key, from the feed. This node's own heartbeat coming back is when the others are judged. */
  observe(change: StateChange): void {
    const after = change.after?.kind === 'node' ? change.after.record : undefined;
    const before = change.before?.kind === 'node' ? change.before.record : undefined;
    const nodeId = after?.nodeId ?? before?.nodeId;
    if (!nodeId) return;
    if (nodeId === this.options.nodeId) {
      if (after?.instanceId === this.instanceId) {
        this.heardRevision = Math.max(this.heardRevision, change.revision);
        if (this.unheard && change.revision >= this.unheard.revision) this.unheard = undefined;
        this.clock.ownHeartbeat(this.now());
        this.judge();
      } else if (after) {
        // The previous life's heartbeat (at start), or another process running with this node id.
        if (this.heartbeatTimer) this.warnings.warn('same-node-id', { instance: after.instanceId }, 'another process writes heartbeats with this node id: node ids must be unique');
      } else if (!this.stopped) {
        this.options.log.warn('the heartbeat of this node was removed by another node (it judged this node dead); writing it again');
        void this.heartbeat();
      }
      return;
    }
    if (!after) {
      if (this.heard.delete(nodeId)) this.options.log.info({ remoteNode: nodeId }, 'node left the cluster');
      return;
    }
    if (!before) this.options.log.info({ remoteNode: nodeId, timeoutMs: after.timeoutMs }, 'node joined the cluster');
    else if (before.instanceId !== after.instanceId) this.options.log.info({ remoteNode: nodeId }, 'node restarted');
    this.heard.set(nodeId, { nodeId, revision: change.revision, heardAt: this.clock.reading, receivedAt: this.now(), timeoutMs: clampTimeout(after.timeoutMs) });
    this.orphanSince.delete(nodeId);
  }

  /** The nodes heard of, with how long ago their last heartbeat arrived, ms (for stats). */
  nodes(): Array<{ nodeId: string; silentMs: number }> {
    const now = this.now();
    return [...this.heard.values()].map((n) => ({ nodeId: n.nodeId, silentMs: Math.round(now - n.receivedAt) }));
  }

  /** Stops beating and judging, and deletes this node's heartbeat (graceful close: the others see it leave at once). */
  async leave(): Promise<void> {
    this.stop();
    if (this.options.connected()) await this.options.kv.delete(nodeKey(this.options.nodeId));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    this.warnings.flush();
  }

  /**
   * Writes this node's heartbeat now (also after a reconnect: the others see
   * it at once). Heartbeats do not wait for each other (one stuck until its
   * timeout must not delay the next), up to a few in flight.
   */
  async heartbeat(): Promise<void> {
    const { kv, nodeId, timeoutMs, connected } = this.options;
    const now = this.now();
    const recent = [...this.heartbeatsInFlight].filter((h) => now - h.startedAt < 2 * this.heartbeatIntervalMs).length;
    if (recent >= MAX_HEARTBEATS_IN_FLIGHT || this.stopped || !connected()) return;
    const inFlight = { startedAt: now };
    this.heartbeatsInFlight.add(inFlight);
    if (this.unheard && now - this.unheard.at > 2 * this.heartbeatIntervalMs) {
      this.unheard = undefined;
      this.options.feedStalled();
    }
    const record: NodeRecord = { nodeId, instanceId: this.instanceId, startedAtMs: this.startedAtMs, heartbeatAtMs: Date.now(), timeoutMs };
    try {
      const revision = await kv.put(nodeKey(nodeId), encodeStateRecord({ kind: 'node', record }));
      if (revision > this.heardRevision) this.unheard ??= { revision, at: this.now() };
    } catch (error) {
      this.warnings.warn('heartbeat', { error: errorMessage(error) }, 'heartbeat not written');
    } finally {
      this.heartbeatsInFlight.delete(inFlight);
    }
  }

  /** Removes what dead nodes and owners of records without a heartbeat left (on this node's own heartbeat: its feed is live). */
  private judge(): void {
    if (this.stopped || !this.options.connected()) return;
    const live = this.clock.reading;
    const { timeoutMs, nodeId, view } = this.options;
    for (const node of deadNodes(this.heard.values(), live)) {
      void this.removeLeftovers(node.nodeId, `no heartbeat for ${Math.round(live - node.heardAt)} ms`);
    }
    for (const owner of view.owners()) {
      if (owner !== nodeId && !this.heard.has(owner) && !this.orphanSince.has(owner)) this.orphanSince.set(owner, live);
    }
    for (const [owner, since] of this.orphanSince) {
      if (this.heard.has(owner) || view.ownedBy(owner).length === 0) this.orphanSince.delete(owner);
      else if (live - since >= silenceLimitMs(timeoutMs)) void this.removeLeftovers(owner, 'records without a heartbeat');
    }
  }

  /** Removes what this node's previous life left, or waits (bounded) while another node does. */
  private async removePreviousLife(): Promise<void> {
    const { nodeId, timeoutMs, log } = this.options;
    const deadline = this.now() + 3 * timeoutMs;
    while (this.options.view.ownedBy(nodeId).length > 0 && !this.stopped) {
      if (await this.removeLeftovers(nodeId, 'previous life of this node')) return;
      if (this.now() > deadline) {
        log.warn({ records: this.options.view.ownedBy(nodeId).length }, 'records of the previous life of this node are still there; going on');
        return;
      }
      await sleep(this.heartbeatIntervalMs);
    }
  }

  /**
   * Removes `owner`'s heartbeat key and records if this node wins the
   * election for them (see the class comment). Undefined when another node
   * removes them, or there was nothing to remove.
   */
  private async removeLeftovers(owner: string, why: string): Promise<RemovalCounts | undefined> {
    const { view, nodeId, log } = this.options;
    if (this.removing.has(owner)) return undefined;
    // Every node names the election alike: the previous life's heartbeat counts even when this node removes its own leftovers.
    const node = view.get(nodeKey(owner));
    const records = view.ownedBy(owner);
    const revision = Math.max(node?.revision ?? 0, ...records.map((r) => r.revision));
    const round = this.electionRound(owner, revision);
    if (revision === 0 || round === undefined) return undefined;
    this.removing.add(owner);
    const started = this.now();
    try {
      if (!(await this.elect(owner, revision, round))) {
        this.lost.set(owner, { revision, round, lostAt: this.now() });
        log.debug({ remoteNode: owner, why }, 'another node removes what this node left');
        return undefined;
      }
      this.lost.delete(owner);
      this.heard.delete(owner);
      this.orphanSince.delete(owner);
      log.warn({ remoteNode: owner, why, records: records.length }, 'removing what a node that is gone left: its participants, tracks and identities');
      if (node && owner !== nodeId) await this.options.kv.delete(node.key, { previousSeq: node.revision }).catch(() => {});
      const removed = await this.removeRecords(records);
      log.info({ remoteNode: owner, ...removed, tookMs: Math.round(this.now() - started) }, 'removed');
      return removed;
    } catch (error) {
      this.warnings.warn('remove-node', { remoteNode: owner, error: errorMessage(error) }, 'could not remove what a node left; trying again');
      return undefined;
    } finally {
      this.removing.delete(owner);
    }
  }

  /** The round to elect for `owner`'s leftovers at `revision`: 0, the next one once a lost election's winner has had two timeouts, or undefined meanwhile. */
  private electionRound(owner: string, revision: number): number | undefined {
    const lost = this.lost.get(owner);
    if (!lost || lost.revision !== revision) return 0;
    return this.now() - lost.lostAt >= 2 * this.options.timeoutMs ? lost.round + 1 : undefined;
  }

  /** Whether this node won the removal of `owner`'s leftovers: it created their key in the cleanup bucket. */
  private async elect(owner: string, revision: number, round: number): Promise<boolean> {
    try {
      await this.options.cleanups.put(cleanupKey(owner, revision, round), new TextEncoder().encode(this.options.nodeId), { previousSeq: 0 });
      return true;
    } catch (error) {
      if (isWrongRevision(error)) return false;
      throw error;
    }
  }

  /** Deletes each record by compare-and-set at the revision it was seen at (re-read once if it changed but still belongs to its node). */
  private async removeRecords(records: ViewEntry[]): Promise<RemovalCounts> {
    const counts: RemovalCounts = { participant: 0, track: 0, identity: 0 };
    const rooms = new Set<string>();
    const participants = new Set<string>();
    await Promise.all(
      records.map(async (entry) => {
        if (!(await this.removeRecord(entry))) return;
        const { state } = entry;
        if (state.kind === 'participant') {
          rooms.add(state.record.room);
          participants.add(state.record.participantId);
        }
        if (state.kind === 'participant' || state.kind === 'track' || state.kind === 'identity') counts[state.kind]++;
      }),
    );
    if (rooms.size > 0) await this.options.participantsRemoved(rooms, participants);
    return counts;
  }

  private async removeRecord(entry: ViewEntry): Promise<boolean> {
    const { kv } = this.options;
    const owner = entry.state.kind === 'room' || entry.state.kind === 'node' ? undefined : entry.state.record.nodeId;
    let revision = entry.revision;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await kv.delete(entry.key, { previousSeq: revision });
        return true;
      } catch (error) {
        if (!isWrongRevision(error)) {
          this.warnings.warn('remove-record', { key: entry.key, error: errorMessage(error) }, 'could not remove a record');
          return false;
        }
      }
      try {
        const current = await kv.get(entry.key);
        if (!current || current.operation !== 'PUT') return false; // already gone
        const state = decodeStateRecord(entry.key, current.value);
        if (state.kind === 'room' || state.kind === 'node' || state.record.nodeId !== owner) return false; // someone else's now
        revision = current.revision;
      } catch (error) {
        if (!(error instanceof StateRecordError)) this.warnings.warn('remove-record', { key: entry.key, error: errorMessage(error) }, 'could not remove a record');
        return false;
      }
    }
    return false;
  }
}
