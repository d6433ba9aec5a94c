import { EventEmitter } from 'node:events';
import { Worker, type MessagePort } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import type { WorkerErrorCode, WorkerLogMessage, WorkerResponseMessage } from '../../media/worker/protocol.js';

const REQUEST_TIMEOUT_MS = 15_000;

/** A failed request to a thread, with the thread's error code. */
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

/** Request name → [params, result], as a thread's protocol defines them. */
type RequestMap<R> = { [N in keyof R]: [unknown, unknown] };

export interface ThreadHandleEvents<Event> {
  event: [Event];
  /** The thread ended; `failed` when it was not asked to. */
  exit: [{ code: number; failed: boolean }];
}

/**
 * The main thread's side of one thread of the node (a media worker, the media
 * gateway): typed requests with timeouts, the thread's events, its log lines
 * written to the node's log destination, and its end.
 */
export class ThreadHandle<Requests extends RequestMap<Requests>, Event extends { kind: 'event'; type: string }> extends EventEmitter<ThreadHandleEvents<Event>> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopping = false;
  alive = true;
  /** The thread's 'ready' event; rejects if the thread ends first. */
  readonly ready: Promise<Extract<Event, { type: 'ready' }>>;

  constructor(
    readonly id: number,
    /** Names the thread in errors: "media worker 2". */
    private readonly name: string,
    entry: URL,
    workerData: unknown,
    protected readonly log: Logger,
  ) {
    super();
    this.worker = new Worker(entry, { workerData, stdout: false, stderr: false });
    this.ready = new Promise((resolve, reject) => {
      const onEvent = (event: Event) => {
        if (event.type !== 'ready') return;
        this.off('event', onEvent);
        resolve(event as Extract<Event, { type: 'ready' }>);
      };
      this.on('event', onEvent);
      this.worker.once('exit', (code) => reject(new Error(`${name} exited with code ${code} while starting`)));
    });
    this.ready.catch(() => undefined);
    // The thread's log lines, already formatted: written as they are to the node's log destination.
    const logDestination = (log as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym]!;
    this.worker.on('message', (message: Event | WorkerResponseMessage | WorkerLogMessage) => {
      if (message.kind === 'log') logDestination.write(message.line);
      else if (message.kind === 'response') this.onResponse(message);
      else this.emit('event', message);
    });
    this.worker.on('error', (error) => this.log.error({ err: error }, `${name} error`));
    this.worker.on('exit', (code) => this.onExit(code));
  }

  request<N extends keyof Requests & string>(method: N, params: Requests[N][0]): Promise<Requests[N][1]> {
    if (!this.alive) return Promise.reject(new WorkerError('WORKER_GONE', `${this.name} is gone`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new WorkerError('INTERNAL', `${this.name} did not answer ${method} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.worker.postMessage({ kind: 'request', id, method, params });
    });
  }

  /** Hands the thread a port to a peer of the in-process media bus (a worker, or the gateway). */
  connectBusPeer(peerWorkerId: number, port: MessagePort): void {
    this.worker.postMessage({ kind: 'busPeer', peerWorkerId, port }, [port]);
  }

  /** Asks the thread to close everything and exit; resolves when it ended. */
  async shutdown(): Promise<void> {
    if (!this.alive) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    await this.request('shutdown' as keyof Requests & string, {} as Requests[keyof Requests & string][0]).catch((error) => this.log.warn({ err: error }, `${this.name} shutdown request failed`));
    await exited;
  }

  /**
   * Ends the thread at once. Only for threads that hold no native binding
   * (the gateway): terminating a media worker could abort the process.
   */
  async terminate(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
  }

  private onResponse(message: WorkerResponseMessage): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error) pending.reject(new WorkerError(message.error.code, message.error.message));
    else pending.resolve(message.result);
  }

  private onExit(code: number): void {
    this.alive = false;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new WorkerError('WORKER_GONE', `${this.name} exited`));
    }
    this.pending.clear();
    const failed = !this.stopping;
    if (failed) this.log.error({ code }, `${this.name} exited unexpectedly`);
    else this.log.debug({ code }, `${this.name} stopped`);
    this.emit('exit', { code, failed });
  }
}
