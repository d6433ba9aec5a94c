import type { KV, KvEntry, QueuedIterator } from 'nats';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../logging/rate-limited-log.js';

/** Where the feed delivers. Neither may throw (the feed logs and goes on if one does). */
export interface FeedHandler {
  /** A value (`undefined`: a DEL or PURGE marker) seen for `key` at `revision`, written at `createdMs` (server clock); may repeat. */
  delivered(key: string, value: Uint8Array | undefined, revision: number, createdMs: number): void;
  /** A (re)started watch delivered the bucket's current values: keys not in `seen` (markers included) hold no value. */
  caughtUp(seen: ReadonlySet<string>): void;
}

/** A watch that has not delivered the current values in this long is started again, ms. */
const CATCH_UP_TIMEOUT_MS = 15_000;
/** A new watch still catching up is not replaced for seeming stalled before this, ms. */
const STALL_GRACE_MS = 3000;
/** Waits before a failed watch is started again: doubling from the first to the last, ms. */
const RESTART_WAIT_MS = { first: 250, last: 2000 };

/**
 * The bucket's change feed: a KV watch (current values first, markers
 * included, then every change), started again whenever it ends or fails, and
 * on request (`resync`, after a reconnect: a fresh watch is current at once,
 * where nats.js's ordered consumer would wait for missed heartbeats). Each
 * (re)started watch ends its initial values with `caughtUp`, naming the keys
 * it saw: anything else the reader holds vanished without a marker it could
 * have seen (purged while it was away).
 */
export class StateFeed {
  private generation = 0;
  private watch: QueuedIterator<KvEntry> | undefined;
  private stopped = false;
  private failures = 0;
  private startedAt = 0;
  /** Whether the current watch has delivered the current values. */
  private caughtUp = false;
  private firstCatchUp: { resolve: () => void; promise: Promise<void> };
  private readonly warnings: RateLimitedLog;

  constructor(
    private readonly kv: KV,
    private readonly handler: FeedHandler,
    private readonly log: Logger,
  ) {
    this.warnings = new RateLimitedLog(log);
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstCatchUp = { resolve, promise };
  }

  /** Starts watching; resolves once the current values are in. */
  start(): Promise<void> {
    this.resync();
    return this.firstCatchUp.promise;
  }

  /** Replaces the watch with a fresh one. */
  resync(): void {
    if (this.stopped) return;
    this.startedAt = performance.now();
    const generation = ++this.generation;
    this.watch?.stop();
    this.watch = undefined;
    void this.run(generation);
  }

  /** The watch seems stalled (the caller's own writes do not come back): replaced, unless the current one is new and still catching up. */
  stalled(): boolean {
    if (!this.caughtUp && performance.now() - this.startedAt < STALL_GRACE_MS) return false;
    this.resync();
    return true;
  }

  stop(): void {
    this.stopped = true;
    this.warnings.flush();
    this.generation++;
    this.watch?.stop();
    this.watch = undefined;
  }

  private async run(generation: number): Promise<void> {
    const seen = new Set<string>();
    let caughtUp = false;
    this.caughtUp = false;
    const stalled = setTimeout(() => {
      if (generation !== this.generation || caughtUp) return;
      this.warnings.warn('watch-stalled', { timeoutMs: CATCH_UP_TIMEOUT_MS }, 'cluster state watch did not deliver the current values in time; starting it again');
      this.resync();
    }, CATCH_UP_TIMEOUT_MS).unref();
    try {
      const watch = await this.kv.watch({
        initializedFn: () => {
          if (generation !== this.generation) return;
          caughtUp = true;
          this.caughtUp = true;
          clearTimeout(stalled);
          this.failures = 0;
          this.call(() => this.handler.caughtUp(seen));
          this.firstCatchUp.resolve();
        },
      });
      if (generation !== this.generation) {
        watch.stop();
        return;
      }
      this.watch = watch;
      for await (const entry of watch) {
        if (generation !== this.generation) break;
        // `seen`: the keys that hold a value now (a marker says the key is gone).
        if (!caughtUp) {
          if (entry.operation === 'PUT') seen.add(entry.key);
          else seen.delete(entry.key);
        }
        this.call(() => this.handler.delivered(entry.key, entry.operation === 'PUT' ? entry.value : undefined, entry.revision, entry.created.getTime()));
      }
      if (generation === this.generation && !this.stopped) this.warnings.warn('watch-ended', {}, 'cluster state watch ended; starting it again');
    } catch (error) {
      if (generation === this.generation && !this.stopped) this.warnings.warn('watch-failed', { error: (error as Error).message }, 'cluster state watch failed; starting it again');
    } finally {
      clearTimeout(stalled);
    }
    if (generation !== this.generation || this.stopped) return;
    const wait = Math.min(RESTART_WAIT_MS.last, RESTART_WAIT_MS.first * 2 ** this.failures++);
    setTimeout(() => generation === this.generation && this.resync(), wait).unref();
  }

  private call(deliver: () => void): void {
    try {
      deliver();
    } catch (error) {
      this.log.error({ error: (error as Error).message, stack: (error as Error).stack }, 'cluster state change handler failed');
    }
  }
}
