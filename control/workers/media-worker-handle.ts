import { EventEmitter } from 'node:events';
import { Worker, type MessagePort } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import type {
  WorkerControlMessage,
  WorkerErrorCode,
  WorkerEvent,
  WorkerInit,
  WorkerLogMessage,
  WorkerRequestName,
  WorkerRequests,
  WorkerResponseMessage,
  WorkerStats,
} from '../../media/worker/protocol.js';

const WORKER_ENTRY = new URL('../../media/worker/main.js', import.meta.url);
const REQUEST_TIMEOUT_MS = 15_000;

/** A failed worker request, with the worker's error code. */
export class WorkerError extends Error {
  constructor(
    readonly code: WorkerErrorCode | 'WORKER_GONE',
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface MediaWorkerHandleEvents {
  event: [WorkerEvent];
  /** The thread ended; `failed` when it was not asked to. */
  exit: [{ code: number; failed: boolean }];
}

/**
 * The main thread's side of one media worker: typed requests with timeouts,
 * worker events, the latest load report, and the thread's end.
 */
export class MediaWorkerHandle extends EventEmitter<MediaWorkerHandleEvents> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopping = false;
  alive = true;
  /** The latest stats the worker reported. */
  stats: WorkerStats | undefined;
  readonly ready: Promise<string>;

  constructor(
    readonly id: number,
    init: WorkerInit,
    private readonly log: Logger,
  ) {
    super();
    this.worker = new Worker(WORKER_ENTRY, { workerData: init, stdout: false, stderr: false });
    this.ready = new Promise((resolve, reject) => {
      const onEvent = (event: WorkerEvent) => {
        if (event.type !== 'ready') return;
        this.off('event', onEvent);
        resolve(event.libraryVersion);
      };
      this.on('event', onEvent);
      this.worker.once('exit', (code) => reject(new Error(`media worker ${id} exited with code ${code} while starting`)));
    });
    this.ready.catch(() => undefined);
    // The worker's log lines, already formatted: written as they are to the node's log destination.
    const logDestination = (log as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym]!;
    this.worker.on('message', (message: WorkerEvent | WorkerResponseMessage | WorkerLogMessage) => {
      if (message.kind === 'log') logDestination.write(message.line);
      else this.onMessage(message);
    });
    this.worker.on('error', (error) => this.log.error({ err: error }, 'media worker error'));
    this.worker.on('exit', (code) => this.onExit(code));
  }

  request<N extends WorkerRequestName>(method: N, params: WorkerRequests[N][0]): Promise<WorkerRequests[N][1]> {
    if (!this.alive) return Promise.reject(new WorkerError('WORKER_GONE', `media worker ${this.id} is gone`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new WorkerError('INTERNAL', `media worker ${this.id} did not answer ${method} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.post({ kind: 'request', id, method, params });
    });
  }

  /** Hands this worker a port to another worker for the in-process media bus. */
  connectBusPeer(peerWorkerId: number, port: MessagePort): void {
    this.worker.postMessage({ kind: 'busPeer', peerWorkerId, port } satisfies WorkerControlMessage, [port]);
  }

  /** Asks the worker to close everything and exit; resolves when the thread ended. */
  async shutdown(): Promise<void> {
    if (!this.alive) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    await this.request('shutdown', {}).catch((error) => this.log.warn({ err: error }, 'worker shutdown request failed'));
    await exited;
  }

  private post(message: WorkerControlMessage): void {
    this.worker.postMessage(message);
  }

  private onMessage(message: WorkerEvent | WorkerResponseMessage): void {
    if (message.kind === 'response') {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.error) pending.reject(new WorkerError(message.error.code, message.error.message));
      else pending.resolve(message.result);
      return;
    }
    if (message.type === 'stats') this.stats = message.stats;
    this.emit('event', message);
  }

  private onExit(code: number): void {
    this.alive = false;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new WorkerError('WORKER_GONE', `media worker ${this.id} exited`));
    }
    this.pending.clear();
    const failed = !this.stopping;
    if (failed) this.log.error({ code }, 'media worker exited unexpectedly');
    else this.log.debug({ code }, 'media worker stopped');
    this.emit('exit', { code, failed });
  }
}
