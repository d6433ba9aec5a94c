import { EventEmitter } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { WorkerEvent } from '../../media/worker/protocol.js';
import { workerPorts, type NodeConfig } from '../config.js';
import { MediaWorkerHandle } from './media-worker-handle.js';

const RESPAWN_DELAY_MS = 100;
const MAX_RESPAWN_DELAY_MS = 10_000;

export interface WorkerPoolEvents {
  /** An event from any worker. */
  event: [MediaWorkerHandle, WorkerEvent];
  /** A worker died; a replacement is being started in its slot. */
  workerFailed: [MediaWorkerHandle];
}

/**
 * The node's media workers: one per slot (`--workers`), each on its own UDP
 * port(s), all connected pairwise by MessagePorts for the in-process media
 * bus. A worker that dies is replaced in its slot with a fresh binding copy.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  private readonly slots: MediaWorkerHandle[] = [];
  /** Consecutive failed starts per slot. */
  private readonly respawns = new Map<number, number>();
  private stopping = false;

  constructor(
    private readonly config: NodeConfig,
    private readonly log: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    for (let slot = 0; slot < this.config.workers; slot++) this.spawn(slot);
    const versions = await Promise.all(this.slots.map((w) => w.ready));
    this.log.info({ workers: this.slots.length, libdatachannel: versions[0] }, 'media workers started');
  }

  get workers(): readonly MediaWorkerHandle[] {
    return this.slots;
  }

  get(workerId: number): MediaWorkerHandle | undefined {
    return this.slots[workerId];
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((w) => w.shutdown()));
  }

  private spawn(slot: number): MediaWorkerHandle {
    const settings = { ...this.config.media, ...workerPorts(this.config, slot) };
    const log = this.log.child({ worker: slot });
    const handle = new MediaWorkerHandle(slot, { nodeId: this.config.nodeId, workerId: slot, settings, logLevel: this.config.logLevel }, log);
    this.slots[slot] = handle;
    handle.on('event', (event) => this.emit('event', handle, event));
    handle.on('exit', ({ failed }) => {
      if (!failed || this.stopping) return;
      this.emit('workerFailed', handle);
      // Back off when replacements keep failing (a port still taken, say).
      const delay = Math.min(MAX_RESPAWN_DELAY_MS, RESPAWN_DELAY_MS * 2 ** (this.respawns.get(slot) ?? 0));
      this.respawns.set(slot, (this.respawns.get(slot) ?? 0) + 1);
      setTimeout(() => {
        if (this.stopping) return;
        this.spawn(slot).ready.then(
          () => {
            this.respawns.delete(slot);
            log.info('replacement media worker ready');
          },
          (error) => log.error({ err: error }, 'replacement media worker failed to start'),
        );
      }, delay);
    });
    for (const other of this.slots) {
      if (!other || other === handle || !other.alive) continue;
      const { port1, port2 } = new MessageChannel();
      handle.connectBusPeer(other.id, port1);
      other.connectBusPeer(slot, port2);
    }
    return handle;
  }
}
