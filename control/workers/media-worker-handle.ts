import type { Logger } from 'pino';
import type { WorkerEvent, WorkerInit, WorkerRequests, WorkerStats } from '../../media/worker/protocol.js';
import { ThreadHandle } from './thread-handle.js';

export { WorkerError } from './thread-handle.js';

const WORKER_ENTRY = new URL('../../media/worker/main.js', import.meta.url);

/**
 * The main thread's side of one media worker: typed requests with timeouts,
 * worker events, the latest load report, and the thread's end.
 */
export class MediaWorkerHandle extends ThreadHandle<WorkerRequests, WorkerEvent> {
  /** The latest stats the worker reported. */
  stats: WorkerStats | undefined;

  constructor(id: number, init: WorkerInit, log: Logger) {
    super(id, `media worker ${id}`, WORKER_ENTRY, init, log);
    this.on('event', (event) => {
      if (event.type === 'stats') this.stats = event.stats;
    });
  }
}
