import { randomBytes } from 'node:crypto';
import type { KV } from 'nats';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { errorMessage, isWrongRevision } from './kv-errors.js';
import { clampTimeout, deadNodes, feedLive, heartbeatIntervalMs, orphansToRemove, silenceLimitMs, type HeardNode } from './node-liveness.js';
import { nodeKey } from './state-keys.js';
import { decodeStateRecord, encodeStateRecord, StateRecordError, type NodeRecord } from './state-records.js';
import type { StateChange, StateView, ViewEntry } from './state-view.js';

export interface NodeRegistryOptions {
  kv: KV;
  view: StateView;
  connected: () => boolean;
  nodeId: string;
  timeoutMs: number;
  log: Logger;
  /** Participants were removed from these rooms (a dead node's, a previous life's): delete the room records left empty. */
  participantsRemoved(rooms: Set<string>, participantIds: Set<string>): Promise<void>;
  /** Local monotonic clock, ms. */
  now?: () => number;
}

/** What one removal of a node's records did. */
export interface RemovalCounts {
  participant: number;
  track: number;
  identity: number;
}

/** Checks for dead nodes this many times per heartbeat interval. */
const CHECKS_PER_INTERVAL = 4;

/**
 * Node liveness (node-liveness.ts says how a node is judged): this node's
 * heartbeat, the others' as heard through the state feed, and the removal of
 * what a dead node held. The removal is decided once cluster-wide: the node
 * that deletes the dead node's key by compare-and-set (at the revision of its
 * last heartbeat) removes its participants, tracks and identity holds, each
 * by compare-and-set on the revision it was seen at, so each record is
 * deleted exactly once whoever else tries. On start, the node first removes
 * whatever its previous life left (records carrying its own id).
 */
export class NodeRegistry {
  readonly instanceId = randomBytes(8).toString('hex');
  private readonly startedAtMs = Date.now();
  private readonly heard = new Map<string, HeardNode>();
  private readonly orphanSince = new Map<string, number>();
  private readonly removing = new Set<string>();
  private readonly warnings: RateLimitedLog;
  private readonly now: () => number;
  private ownHeardAt: number | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private beating = false;
  private stopped = false;

  constructor(private readonly options: NodeRegistryOptions) {
    this.warnings = new RateLimitedLog(options.log);
    this.now = options.now ?? (() => performance.now());
  }

  get heartbeatIntervalMs(): number {
    return heartbeatIntervalMs(this.options.timeoutMs);
  }

  /** Removes the previous life's records, writes the first heartbeat, and starts beating and judging. */
  async start(): Promise<RemovalCounts> {
    const { log, nodeId, view } = this.options;
    const leftovers = view.ownedBy(nodeId);
    const removed = await this.removeRecords(leftovers);
    if (leftovers.length > 0) log.info({ ...removed, found: leftovers.length }, 'removed what the previous life of this node left in the cluster state');
    await this.heartbeat();
    if (this.stopped) return removed;
    const interval = this.heartbeatIntervalMs;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), interval);
    this.checkTimer = setInterval(() => this.check(), Math.max(50, Math.round(interval / CHECKS_PER_INTERVAL)));
    return removed;
  }

  /** A change of a node key, from the feed. */
  observe(change: StateChange): void {
    const after = change.after?.kind === 'node' ? change.after.record : undefined;
    const before = change.before?.kind === 'node' ? change.before.record : undefined;
    const nodeId = after?.nodeId ?? before?.nodeId;
    if (!nodeId) return;
    const now = this.now();
    if (nodeId === this.options.nodeId) {
      if (after) this.ownHeardAt = now;
      else if (!this.stopped) {
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
    this.heard.set(nodeId, { nodeId, revision: change.revision, heardAt: now, timeoutMs: clampTimeout(after.timeoutMs) });
    this.orphanSince.delete(nodeId);
  }

  /** The nodes heard of, with how long ago, ms (for stats). */
  nodes(): Array<{ nodeId: string; silentMs: number }> {
    const now = this.now();
    return [...this.heard.values()].map((n) => ({ nodeId: n.nodeId, silentMs: Math.round(now - n.heardAt) }));
  }

  /** Stops beating and judging, and deletes this node's heartbeat (graceful close: the others see it leave at once). */
  async leave(): Promise<void> {
    this.stop();
    if (this.options.connected()) await this.options.kv.delete(nodeKey(this.options.nodeId));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.checkTimer);
    this.warnings.flush();
  }

  /** Writes this node's heartbeat now (also after a reconnect: the others see it at once). */
  async heartbeat(): Promise<void> {
    const { kv, nodeId, timeoutMs, connected } = this.options;
    if (this.beating || this.stopped || !connected()) return;
    this.beating = true;
    const record: NodeRecord = { nodeId, instanceId: this.instanceId, startedAtMs: this.startedAtMs, heartbeatAtMs: Date.now(), timeoutMs };
    try {
      await kv.put(nodeKey(nodeId), encodeStateRecord({ kind: 'node', record }));
    } catch (error) {
      this.warnings.warn('heartbeat', { error: errorMessage(error) }, 'heartbeat not written');
    } finally {
      this.beating = false;
    }
  }

  private check(): void {
    if (this.stopped || !this.options.connected()) return;
    const now = this.now();
    const { timeoutMs, nodeId, view } = this.options;
    for (const node of deadNodes(this.heard.values(), now, this.ownHeardAt, timeoutMs)) void this.removeDead(node, now);
    if (!feedLive(now, this.ownHeardAt, timeoutMs)) return;
    for (const owner of view.owners()) {
      if (owner !== nodeId && !this.heard.has(owner) && !this.orphanSince.has(owner)) this.orphanSince.set(owner, now);
    }
    for (const [owner] of this.orphanSince) if (this.heard.has(owner) || view.ownedBy(owner).length === 0) this.orphanSince.delete(owner);
    for (const owner of orphansToRemove(this.orphanSince, now, silenceLimitMs(timeoutMs), nodeId, this.heard.keys())) void this.removeOrphans(owner);
  }

  private async removeDead(node: HeardNode, now: number): Promise<void> {
    const { kv, log } = this.options;
    if (this.removing.has(node.nodeId)) return;
    this.removing.add(node.nodeId);
    try {
      try {
        await kv.delete(nodeKey(node.nodeId), { previousSeq: node.revision });
      } catch (error) {
        // Lost: another node removes it, or it wrote a heartbeat this node has not heard yet.
        if (!isWrongRevision(error)) this.warnings.warn('dead-node', { remoteNode: node.nodeId, error: errorMessage(error) }, 'could not remove a dead node; trying again');
        return;
      }
      this.heard.delete(node.nodeId);
      const silentMs = Math.round(now - node.heardAt);
      const started = this.now();
      const records = this.options.view.ownedBy(node.nodeId);
      log.warn({ remoteNode: node.nodeId, silentMs, records: records.length }, 'node judged dead; removing its participants, tracks and identities');
      const removed = await this.removeRecords(records);
      log.info({ remoteNode: node.nodeId, ...removed, tookMs: Math.round(this.now() - started) }, 'dead node removed');
    } finally {
      this.removing.delete(node.nodeId);
    }
  }

  private async removeOrphans(owner: string): Promise<void> {
    if (this.removing.has(owner)) return;
    this.removing.add(owner);
    try {
      const records = this.options.view.ownedBy(owner);
      const removed = await this.removeRecords(records);
      this.orphanSince.delete(owner);
      this.options.log.warn({ remoteNode: owner, ...removed }, 'removed records of a node that has no heartbeat');
    } finally {
      this.removing.delete(owner);
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
