import type { JetStreamManager } from 'nats';
import type { Logger } from 'pino';
import { errorMessage } from './kv-errors.js';

export interface DeletionMarkersOptions {
  jsm: JetStreamManager;
  /** The bucket's stream (`KV_<bucket>`) and the subject prefix of its keys (`$KV.<bucket>.`). */
  stream: string;
  subjectPrefix: string;
  /** Markers younger than this stay, so that watchers see the deletion, ms. */
  retentionMs: number;
  log: Logger;
}

/** Purge requests in flight at once. */
const BATCH = 32;

/**
 * The deletion markers of the state bucket. A KV deletion leaves a marker
 * as the key's last message, for ever: every participant and track that
 * ever was would stay in the stream, and every new watch would replay them.
 * Markers older than `retentionMs` are purged, each up to and including its
 * own revision (purge by sequence), so a value written after the marker is
 * never touched, unlike nats.js's purgeDeletes (which purges the whole key).
 * A watcher away longer than that misses the deletion; the feed's resync
 * after a reconnect drops such keys all the same.
 */
export class DeletionMarkers {
  private readonly markers = new Map<string, { revision: number; createdMs: number }>();

  constructor(private readonly options: DeletionMarkersOptions) {}

  /** A value (`deleted` false) or a marker seen for `key` by the feed; `createdMs` is the server's timestamp of the entry. */
  seen(key: string, revision: number, createdMs: number, deleted: boolean): void {
    const known = this.markers.get(key);
    if (known && known.revision >= revision) return;
    if (deleted) this.markers.set(key, { revision, createdMs });
    else this.markers.delete(key);
  }

  get size(): number {
    return this.markers.size;
  }

  /** Purges the markers older than the retention; returns how many. */
  async compact(now = Date.now()): Promise<number> {
    const { jsm, stream, subjectPrefix, retentionMs, log } = this.options;
    const old = [...this.markers].filter(([, m]) => now - m.createdMs >= retentionMs);
    let purged = 0;
    for (let i = 0; i < old.length; i += BATCH) {
      const results = await Promise.allSettled(old.slice(i, i + BATCH).map(([key, m]) => jsm.streams.purge(stream, { filter: `${subjectPrefix}${key}`, seq: m.revision + 1 })));
      results.forEach((result, j) => {
        const [key, marker] = old[i + j]!;
        if (result.status === 'rejected') {
          log.debug({ key, error: errorMessage(result.reason) }, 'deletion marker not purged');
          return;
        }
        purged++;
        if (this.markers.get(key) === marker) this.markers.delete(key);
      });
    }
    if (purged > 0) log.info({ purged, left: this.markers.size }, 'old deletion markers purged from the cluster state');
    return purged;
  }
}
