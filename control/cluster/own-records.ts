import type { KV } from 'nats';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import { errorMessage, isWrongRevision } from './kv-errors.js';
import { decodeStateRecord, encodeStateRecord, keyOf, StateRecordError, type RecordOf, type StateRecord } from './state-records.js';
import type { StateChange, StateView } from './state-view.js';

/**
 * `put`: the node's own record, written whatever is there (participants,
 * tracks). `create`: written only where the key is free, and an existing
 * value is accepted or lost by `acceptsExisting` (rooms, identity holds).
 */
type WriteMode = 'put' | 'create';

interface Wanted {
  key: string;
  state: StateRecord;
  value: Uint8Array;
  mode: WriteMode;
  /** The revision of our last write that took; undefined while none did. */
  revision?: number;
  /** In the bucket as far as we know: written and not deleted since. */
  written: boolean;
  /** Ever sent to the bucket (a record never sent needs no deletion). */
  attempted: boolean;
  inFlight: boolean;
  /** A deletion of the key seen while a write was in flight, at this revision. */
  deletedAt?: number;
}

/** A deletion to retry: `revision` set makes it a compare-and-set (never delete what another wrote since). */
interface PendingDelete {
  key: string;
  revision?: number;
}

/** Writes in one reconciliation round at a time. */
const BATCH = 64;
/** Waits between failed reconciliation rounds: doubling from the first to the last, ms. */
const RETRY_WAIT_MS = { first: 250, last: 2000 };

export interface OwnRecordsOptions {
  kv: KV;
  view: StateView;
  connected: () => boolean;
  log: Logger;
}

/**
 * This node's desired state: its participants and tracks, the identities its
 * participants hold and the rooms they are in. The bucket is made to match
 * it: a write that failed or was made while NATS was away (nats.js drops
 * those silently) is written again when NATS is back; a record another node
 * deleted (it thought this node dead) is put back; a deletion that failed is
 * retried. An identity another node has claimed since, or whose key another
 * holder took while this node was away, is given up: that participant was
 * replaced (the store reports the claim).
 */
export class OwnRecords {
  private readonly wanted = new Map<string, Wanted>();
  private readonly pendingDeletes = new Map<string, PendingDelete>();
  private readonly warnings: RateLimitedLog;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private failures = 0;
  private reconciling = false;
  private closed = false;

  constructor(private readonly options: OwnRecordsOptions) {
    this.warnings = new RateLimitedLog(options.log);
  }

  /** Makes `state` part of the desired state and writes it (now if connected, else once NATS is back). */
  async want(state: StateRecord, mode: WriteMode): Promise<void> {
    const key = keyOf(state);
    const wanted: Wanted = { key, state, value: encodeStateRecord(state), mode, written: false, attempted: false, inFlight: false };
    const seen = this.options.view.get(key);
    this.pendingDeletes.delete(key);
    this.wanted.set(key, wanted);
    if (mode === 'create' && seen && this.acceptsExisting(wanted, seen.state)) {
      wanted.written = true;
      wanted.revision = seen.revision;
      return;
    }
    if (this.options.connected()) await this.write(wanted);
    else this.schedule(0);
  }

  /** Records a value this node has written itself at `revision` (an identity won by compare-and-set). */
  adopt(state: StateRecord, revision: number): void {
    const key = keyOf(state);
    this.pendingDeletes.delete(key);
    this.wanted.set(key, { key, state, value: encodeStateRecord(state), mode: 'create', revision, written: true, attempted: true, inFlight: false });
  }

  /**
   * Takes `key` out of the desired state and deletes it from the bucket
   * (`compareAndSet`: only if it still holds what this node wrote), or just
   * forgets it (`keep`).
   */
  async unwant(key: string, how: 'delete' | 'compareAndSet' | 'keep'): Promise<void> {
    const wanted = this.wanted.get(key);
    if (!wanted) return;
    this.wanted.delete(key);
    if (how === 'keep' || !wanted.attempted) return;
    if (how === 'compareAndSet' && wanted.revision === undefined) return; // none of our writes took: nothing of ours to delete
    const pending: PendingDelete = { key, revision: how === 'compareAndSet' ? wanted.revision : undefined };
    this.pendingDeletes.set(key, pending);
    if (this.options.connected()) await this.remove(pending);
    else this.schedule(0);
  }

  /** Deletes `key` if it still has `revision`, retrying after failures (a room this node found empty). */
  async deleteIfUnchanged(key: string, revision: number): Promise<void> {
    const pending: PendingDelete = { key, revision };
    this.pendingDeletes.set(key, pending);
    if (this.options.connected()) await this.remove(pending);
    else this.schedule(0);
  }

  has(key: string): boolean {
    return this.wanted.has(key);
  }

  /** The revision of this node's last write of `key` that took, if it still wants the key. */
  revisionOf(key: string): number | undefined {
    return this.wanted.get(key)?.revision;
  }

  /** The desired records of one kind. */
  *records<K extends StateRecord['kind']>(kind: K): Generator<RecordOf<K>> {
    for (const wanted of this.wanted.values()) {
      if (wanted.state.kind === kind) yield wanted.state.record as unknown as RecordOf<K>;
    }
  }

  /** A change the bucket's watcher delivered: a deletion of something wanted brings a rewrite, a foreign holder ends a claim. */
  observe(change: StateChange): void {
    const wanted = this.wanted.get(change.key);
    if (!wanted) return;
    if (wanted.revision !== undefined && change.revision <= wanted.revision) return; // older than our own write
    if (!change.after) {
      if (wanted.inFlight) {
        wanted.deletedAt = change.revision;
      } else if (wanted.written) {
        wanted.written = false;
        this.warnings.warn('record-deleted', { key: change.key }, 'a record this node needs was deleted by another node; writing it again');
        this.schedule(0);
      }
    } else if (wanted.mode === 'create' && !this.acceptsExisting(wanted, change.after)) {
      this.lose(wanted, change.after);
    }
  }

  /**
   * A fresh watch caught up without delivering any of `seen`'s complement: a
   * record this node wrote that is not among `seen` was deleted while the old
   * watch was blind (this node was cut off or frozen): it is written again.
   */
  missingFrom(seen: ReadonlySet<string>): void {
    for (const wanted of this.wanted.values()) {
      if (seen.has(wanted.key) || wanted.inFlight || !wanted.written) continue;
      wanted.written = false;
      this.warnings.warn('record-deleted', { key: wanted.key }, 'a record this node needs was deleted by another node; writing it again');
    }
  }

  /** Writes everything not known to be in the bucket, and retries failed deletions (after a reconnect, and after failures). */
  reconcile(): void {
    this.schedule(0);
  }

  /** Deletes every record of this node now (graceful close): no retries after this. */
  async deleteAll(): Promise<number> {
    this.closed = true;
    clearTimeout(this.timer);
    const deletions = [...this.pendingDeletes.values()];
    for (const w of this.wanted.values()) {
      if (!w.attempted || w.state.kind === 'room') continue; // rooms are shared: the store deletes those left empty
      if (w.state.kind !== 'identity') deletions.push({ key: w.key });
      else if (w.revision !== undefined) deletions.push({ key: w.key, revision: w.revision });
    }
    this.wanted.clear();
    this.pendingDeletes.clear();
    const results = await Promise.allSettled(deletions.map((d) => this.options.kv.delete(d.key, d.revision === undefined ? undefined : { previousSeq: d.revision })));
    return results.filter((r) => r.status === 'fulfilled').length;
  }

  private acceptsExisting(wanted: Wanted, existing: StateRecord): boolean {
    if (wanted.state.kind === 'room') return true; // a room record is shared: anyone's will do
    return wanted.state.kind === 'identity' && existing.kind === 'identity' && existing.record.participantId === wanted.state.record.participantId;
  }

  private lose(wanted: Wanted, holder: StateRecord): void {
    this.wanted.delete(wanted.key);
    const by = holder.kind === 'identity' ? { participant: holder.record.participantId, holderNode: holder.record.nodeId } : {};
    this.options.log.info({ key: wanted.key, ...by }, 'identity held by another participant now; giving it up');
  }

  private async write(wanted: Wanted): Promise<boolean> {
    const { kv } = this.options;
    if (this.closed) return true; // closing: deleteAll has the last word
    wanted.inFlight = true;
    wanted.attempted = true;
    wanted.deletedAt = undefined;
    try {
      let revision: number;
      if (wanted.mode === 'put') {
        revision = await kv.put(wanted.key, wanted.value);
      } else {
        const existing = await this.createOrRead(wanted);
        if (this.wanted.get(wanted.key) !== wanted) return true;
        if (typeof existing !== 'number') {
          if (!existing || !this.acceptsExisting(wanted, existing.state)) {
            if (existing) this.lose(wanted, existing.state);
            else this.wanted.delete(wanted.key);
            return true;
          }
          revision = existing.revision;
        } else {
          revision = existing;
        }
      }
      if (this.wanted.get(wanted.key) !== wanted) return true;
      wanted.revision = revision;
      wanted.written = !(wanted.deletedAt !== undefined && wanted.deletedAt > revision);
      if (!wanted.written) this.schedule(0);
      return true;
    } catch (error) {
      wanted.written = false;
      this.warnings.warn('state-write', { key: wanted.key, error: errorMessage(error) }, 'cluster state write failed; it is retried');
      this.scheduleRetry();
      return false;
    } finally {
      wanted.inFlight = false;
    }
  }

  /** Creates the key, or reads what holds it: the new revision, the existing record, or undefined for a value that is not a record. */
  private async createOrRead(wanted: Wanted): Promise<number | { state: StateRecord; revision: number } | undefined> {
    const { kv } = this.options;
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await kv.get(wanted.key);
      try {
        if (!current || current.operation !== 'PUT') return await kv.put(wanted.key, wanted.value, { previousSeq: current?.revision ?? 0 });
        return { state: decodeStateRecord(wanted.key, current.value), revision: current.revision };
      } catch (error) {
        if (error instanceof StateRecordError) return undefined;
        if (!isWrongRevision(error)) throw error;
      }
    }
    throw new Error(`${wanted.key} kept changing under a create`);
  }

  private async remove(pending: PendingDelete): Promise<boolean> {
    if (this.closed) return true;
    try {
      await this.options.kv.delete(pending.key, pending.revision === undefined ? undefined : { previousSeq: pending.revision });
    } catch (error) {
      if (!isWrongRevision(error)) {
        this.warnings.warn('state-delete', { key: pending.key, error: errorMessage(error) }, 'cluster state deletion failed; it is retried');
        this.scheduleRetry();
        return false;
      }
      // Changed since: someone else's value now, not ours to delete.
    }
    if (this.pendingDeletes.get(pending.key) === pending) this.pendingDeletes.delete(pending.key);
    return true;
  }

  private scheduleRetry(): void {
    this.schedule(Math.min(RETRY_WAIT_MS.last, RETRY_WAIT_MS.first * 2 ** this.failures++));
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    const due = Date.now() + delayMs;
    if (this.timer && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      void this.round();
    }, delayMs);
  }

  private async round(): Promise<void> {
    if (this.closed || !this.options.connected()) return; // the reconnect starts the next round
    if (this.reconciling) return this.schedule(50);
    this.reconciling = true;
    try {
      const writes = [...this.wanted.values()].filter((w) => !w.written && !w.inFlight);
      const deletes = [...this.pendingDeletes.values()];
      let ok = true;
      for (let i = 0; i < writes.length; i += BATCH) ok = (await Promise.all(writes.slice(i, i + BATCH).map((w) => this.write(w)))).every(Boolean) && ok;
      for (let i = 0; i < deletes.length; i += BATCH) ok = (await Promise.all(deletes.slice(i, i + BATCH).map((d) => this.remove(d)))).every(Boolean) && ok;
      if (ok) {
        this.failures = 0;
        if (writes.length + deletes.length > 0) this.options.log.info({ writes: writes.length, deletes: deletes.length }, 'cluster state reconciled: writes made or lost while NATS was away are in');
      }
    } finally {
      this.reconciling = false;
    }
  }
}
