import { EventEmitter } from 'node:events';
import type { KV } from 'nats';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { StoreUnavailable, type ParticipantRecord, type RoomRecord, type RoomStore, type RoomStoreEvents, type TrackRecord } from '../store/room-store.js';
import type { DeletionMarkers } from './deletion-markers.js';
import { errorMessage, isWrongRevision } from './kv-errors.js';
import type { ConnectionStatus } from './nats-connection.js';
import { NodeRegistry } from './node-registry.js';
import { OwnRecords } from './own-records.js';
import { StateFeed } from './state-feed.js';
import { identityKey, participantKey, roomKey, trackKey } from './state-keys.js';
import { decodeStateRecord, encodeStateRecord, StateRecordError, type IdentityRecord, type StateRecord } from './state-records.js';
import { StateView, type StateChange } from './state-view.js';

export interface KvRoomStoreOptions {
  /** The cluster state bucket (openBuckets). */
  state: KV;
  /** The cleanup election bucket. */
  cleanups: KV;
  /** The state bucket's deletion markers, purged once old by one node. */
  markers: DeletionMarkers;
  status: ConnectionStatus;
  nodeId: string;
  nodeTimeoutMs: number;
  log: Logger;
}

/** How long an identity claim may take before it fails with StoreUnavailable, ms. */
const CLAIM_TIMEOUT_MS = 5000;
/** How often old deletion markers are purged (by the live node with the smallest id), ms. */
const COMPACTION_INTERVAL_MS = 10 * 60_000;

/**
 * The room store of a cluster node, on the JetStream KV bucket of
 * state-keys.ts. Reads come from a local view fed by the bucket's watch
 * (StateFeed); this node's own records are its desired state (OwnRecords),
 * written through and reconciled after NATS outages; node liveness and the
 * removal of dead nodes' records are NodeRegistry's. Events report other
 * nodes' records only, from `start()` on (what exists then is in the view).
 *
 * Changes arrive in the order they were written (one bucket, one watch): a
 * participant before its tracks when its node wrote them so. A dead node's
 * records are removed all at once, in no particular order: a listener must
 * accept a track whose participant is already gone.
 */
export class KvRoomStore extends EventEmitter<RoomStoreEvents> implements RoomStore {
  readonly view = new StateView();
  readonly registry: NodeRegistry;
  private readonly own: OwnRecords;
  private readonly feed: StateFeed;
  private readonly badRecords: RateLimitedLog;
  private readonly stalls: RateLimitedLog;
  private starting: Promise<void> | undefined;
  private compaction: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** Events flow once the start is done. */
  private reporting = false;
  /** Claims of this node in flight, per identity key. */
  private readonly claiming = new Map<string, number>();
  /** The other node's participant last announced as holder, per identity key. */
  private readonly announced = new Map<string, string>();

  constructor(private readonly options: KvRoomStoreOptions) {
    super();
    const { state: kv, cleanups, status, nodeId, log } = options;
    const connected = () => status.connected;
    this.badRecords = new RateLimitedLog(log);
    this.stalls = new RateLimitedLog(log);
    this.own = new OwnRecords({ kv, view: this.view, connected, log });
    this.registry = new NodeRegistry({
      kv,
      cleanups,
      view: this.view,
      connected,
      nodeId,
      timeoutMs: options.nodeTimeoutMs,
      log,
      participantsRemoved: (rooms, participantIds) => this.deleteEmptiedRooms(rooms, participantIds),
      feedStalled: () => {
        if (this.feed.stalled()) this.stalls.warn('feed-stalled', {}, 'this node\'s heartbeats are written but not heard back: restarting the state watch');
      },
    });
    this.feed = new StateFeed(
      kv,
      {
        delivered: (key, value, revision, createdMs) => {
          options.markers.seen(key, revision, createdMs, value === undefined);
          this.delivered(key, value, revision);
        },
        caughtUp: (seen) => this.caughtUp(seen),
      },
      log,
    );
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  async ensureRoom(name: string): Promise<void> {
    if (this.own.has(roomKey(name))) return;
    await this.own.want({ kind: 'room', record: { name, createdAtMs: Date.now() } }, 'create');
  }

  async getRoom(name: string): Promise<RoomRecord | undefined> {
    const room = this.view.room(name) ?? [...this.own.records('room')].find((r) => r.name === name);
    return room && { ...room };
  }

  async deleteRoomIfEmpty(name: string): Promise<void> {
    const key = roomKey(name);
    await this.own.unwant(key, 'keep');
    const seen = this.view.get(key);
    if (seen && this.participants(name).length === 0) await this.own.deleteIfUnchanged(key, seen.revision);
  }

  /**
   * Compare-and-set on the identity's key: read the holder, write this
   * participant expecting that revision, read again if another claim came
   * in between. On nats-server before 2.9.21 concurrent compare-and-sets on
   * a replicated bucket can all succeed (nats-server#4320): then the claim
   * with the highest revision holds, every node's view converges on it, and
   * each earlier claimant is told of it by `identityClaimed` (announceClaim).
   */
  async claimIdentity(room: string, identity: string, participantId: string): Promise<string | undefined> {
    const key = identityKey(room, identity);
    const record: IdentityRecord = { room, identity, participantId, nodeId: this.nodeId, claimedAtMs: Date.now() };
    const state: StateRecord = { kind: 'identity', record };
    const deadline = Date.now() + CLAIM_TIMEOUT_MS;
    const kv = this.options.state;
    this.claiming.set(key, (this.claiming.get(key) ?? 0) + 1);
    try {
      for (;;) {
        if (!this.options.status.connected) throw new StoreUnavailable('NATS is not reachable: identities cannot be claimed now');
        if (Date.now() > deadline) throw new StoreUnavailable(`the claim of ${identity} in ${room} was not decided within ${CLAIM_TIMEOUT_MS} ms`);
        try {
          const current = await kv.get(key);
          const holder = current?.operation === 'PUT' ? holderOf(key, current.value) : undefined;
          if (holder === participantId) return undefined;
          const revision = await kv.put(key, encodeStateRecord(state), { previousSeq: current?.revision ?? 0 });
          this.own.adopt(state, revision);
          this.announced.delete(key);
          this.emit('identityClaimed', { room, identity, participantId });
          return holder;
        } catch (error) {
          if (isWrongRevision(error)) continue; // claimed by another in between: read again
          throw new StoreUnavailable(`the claim of ${identity} in ${room} failed: ${errorMessage(error)}`);
        }
      }
    } finally {
      const left = this.claiming.get(key)! - 1;
      if (left > 0) this.claiming.set(key, left);
      else {
        this.claiming.delete(key);
        this.announceClaim(key);
      }
    }
  }

  /** Who holds the identity now, read from the bucket's stream leader (not the view): the last word on a replacement. */
  async identityHolder(room: string, identity: string): Promise<string | undefined> {
    const key = identityKey(room, identity);
    if (!this.options.status.connected) throw new StoreUnavailable('NATS is not reachable: the holder of an identity cannot be read now');
    try {
      const current = await this.options.state.get(key);
      return current?.operation === 'PUT' ? holderOf(key, current.value) : undefined;
    } catch (error) {
      throw new StoreUnavailable(`the holder of ${identity} in ${room} could not be read: ${errorMessage(error)}`);
    }
  }

  async releaseIdentity(room: string, identity: string, participantId: string): Promise<void> {
    const key = identityKey(room, identity);
    const held = [...this.own.records('identity')].some((r) => r.room === room && r.identity === identity && r.participantId === participantId);
    if (held) await this.own.unwant(key, 'compareAndSet');
  }

  async putParticipant(participant: ParticipantRecord): Promise<void> {
    this.checkOwn(participant.nodeId);
    await this.own.want({ kind: 'participant', record: { ...participant } }, 'put');
  }

  async deleteParticipant(room: string, participantId: string): Promise<void> {
    await this.own.unwant(participantKey(room, participantId), 'delete');
  }

  async putTrack(track: TrackRecord): Promise<void> {
    this.checkOwn(track.nodeId);
    await this.own.want({ kind: 'track', record: { ...track, codec: { ...track.codec } } }, 'put');
  }

  async deleteTrack(room: string, trackId: string): Promise<void> {
    await this.own.unwant(trackKey(room, trackId), 'delete');
  }

  participants(room: string): ParticipantRecord[] {
    const own = [...this.own.records('participant')].filter((p) => p.room === room);
    const others = this.view.participants(room).filter((p) => p.nodeId !== this.nodeId);
    return [...own, ...others].map((p) => ({ ...p }));
  }

  tracks(room: string): TrackRecord[] {
    const own = [...this.own.records('track')].filter((t) => t.room === room);
    const others = this.view.tracks(room).filter((t) => t.nodeId !== this.nodeId);
    return [...own, ...others].map((t) => ({ ...t, codec: { ...t.codec } }));
  }

  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  /** Purges the deletion markers older than their retention (at `now`); returns how many. */
  compactDeletionMarkers(now = Date.now()): Promise<number> {
    return this.options.markers.compact(now);
  }

  private async startOnce(): Promise<void> {
    const { status, log } = this.options;
    status.on('reconnected', this.onReconnected);
    await this.feed.start();
    if (this.closing) return;
    await this.registry.start();
    if (this.closing) return;
    this.reporting = true;
    this.compaction = setInterval(() => {
      // One node does it: the one with the smallest id this node knows alive (two doing it is harmless).
      if (!status.connected || this.registry.nodes().some((n) => n.nodeId < this.nodeId)) return;
      this.compactDeletionMarkers().catch((error) => log.warn({ error: errorMessage(error) }, 'deletion markers not purged'));
    }, COMPACTION_INTERVAL_MS).unref();
    log.info({ heartbeatMs: this.registry.heartbeatIntervalMs, nodeTimeoutMs: this.options.nodeTimeoutMs, nodes: this.registry.nodes().length }, 'cluster state ready');
  }

  private readonly onReconnected = (): void => {
    this.feed.resync();
    void this.registry.heartbeat();
    this.own.reconcile();
  };

  private async closeOnce(): Promise<void> {
    const { status, log } = this.options;
    status.off('reconnected', this.onReconnected);
    this.reporting = false;
    clearInterval(this.compaction);
    this.registry.stop();
    if (!status.connected) {
      log.warn('NATS is not reachable at close: the other nodes remove what this node held after the node timeout');
      this.feed.stop();
      return;
    }
    const rooms = new Set([...this.own.records('room')].map((r) => r.name));
    const leaving = new Set([...this.own.records('participant')].map((p) => p.participantId));
    const deleting = this.own.deleteAll(); // forgets the wanted rooms at once: the empty ones go below
    const [deleted] = await Promise.all([
      deleting,
      this.deleteEmptiedRooms(rooms, leaving),
      this.registry.leave().catch((error) => log.warn({ error: errorMessage(error) }, 'heartbeat not removed')),
    ]);
    this.feed.stop();
    log.info({ deleted }, 'cluster state closed: this node\'s records are removed');
  }

  private checkOwn(nodeId: string): void {
    if (nodeId !== this.nodeId) throw new Error(`node ${this.nodeId} cannot write a record of node ${nodeId}`);
  }

  /** Deletes the records of `rooms` that no participant of any node is in any more (ignoring `gone`, being removed). */
  private async deleteEmptiedRooms(rooms: Set<string>, gone: Set<string>): Promise<void> {
    await Promise.all(
      [...rooms].map(async (room) => {
        const key = roomKey(room);
        const seen = this.view.get(key);
        if (!seen || this.own.has(key)) return;
        if (this.view.participants(room).some((p) => !gone.has(p.participantId))) return;
        try {
          await this.options.state.delete(key, { previousSeq: seen.revision });
        } catch (error) {
          if (!isWrongRevision(error)) this.options.log.debug({ room, error: errorMessage(error) }, 'empty room record not deleted');
        }
      }),
    );
  }

  private delivered(key: string, value: Uint8Array | undefined, revision: number): void {
    let change: StateChange | undefined;
    try {
      change = this.view.apply(key, value, revision);
    } catch (error) {
      if (!(error instanceof StateRecordError)) throw error;
      this.badRecords.warn('bad-state-record', { key: key.slice(0, 200), error: error.message }, 'ignoring a cluster state entry that is not a valid record');
      change = this.view.apply(key, undefined, revision);
    }
    if (change) this.changed(change);
  }

  private caughtUp(seen: ReadonlySet<string>): void {
    for (const key of [...this.view.keys()]) {
      if (seen.has(key)) continue;
      const change = this.view.forget(key);
      if (change) this.changed(change);
    }
    this.own.missingFrom(seen);
    this.own.reconcile();
  }

  private changed(change: StateChange): void {
    if (change.kind === 'node') return this.registry.observe(change);
    this.own.observe(change);
    if (change.kind === 'identity') return this.announceClaim(change.key);
    if (!this.reporting) return;
    const { before, after } = change;
    if (after && !before) {
      if (after.kind === 'participant' && after.record.nodeId !== this.nodeId) this.emit('participantAdded', { ...after.record });
      if (after.kind === 'track' && after.record.nodeId !== this.nodeId) this.emit('trackAdded', { ...after.record, codec: { ...after.record.codec } });
    } else if (before && !after) {
      if (before.kind === 'participant' && before.record.nodeId !== this.nodeId) this.emit('participantRemoved', { ...before.record });
      if (before.kind === 'track' && before.record.nodeId !== this.nodeId) this.emit('trackRemoved', { ...before.record, codec: { ...before.record.codec } });
    }
  }

  /**
   * Reports the holder the view names for identity `key` when it is another
   * node's participant whose claim is newer than this node's last one, once
   * per holder; not while a claim of this node for the key is in flight (it
   * is decided first, and may be the newer one).
   */
  private announceClaim(key: string): void {
    const entry = this.view.get(key);
    if (entry?.state.kind !== 'identity') {
      this.announced.delete(key);
      return;
    }
    const { record } = entry.state;
    const ownRevision = this.own.revisionOf(key);
    if (!this.reporting || this.claiming.has(key) || record.nodeId === this.nodeId) return;
    if ((ownRevision !== undefined && entry.revision < ownRevision) || this.announced.get(key) === record.participantId) return;
    this.announced.set(key, record.participantId);
    this.emit('identityClaimed', { room: record.room, identity: record.identity, participantId: record.participantId });
  }
}

/** The participant holding an identity, from its record's value; undefined for a value that is not a valid record (taken over by the claim). */
function holderOf(key: string, value: Uint8Array): string | undefined {
  try {
    const state = decodeStateRecord(key, value);
    return state.kind === 'identity' ? state.record.participantId : undefined;
  } catch (error) {
    if (error instanceof StateRecordError) return undefined;
    throw error;
  }
}
