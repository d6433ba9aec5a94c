import { EventEmitter } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { GatewayStats } from '../../media/gateway/protocol.js';
import type { WorkerEvent } from '../../media/worker/protocol.js';
import { gatewayInWorker, workerPorts, type NodeConfig } from '../config.js';
import { GatewayHandle } from './gateway-handle.js';
import { MediaWorkerHandle } from './media-worker-handle.js';

const RESPAWN_DELAY_MS = 100;
const MAX_RESPAWN_DELAY_MS = 10_000;
/** Respawn-count key of the gateway (worker slots are 0, 1, ...). */
const GATEWAY_SLOT = -1;

export interface WorkerPoolEvents {
  /** An event from any worker. */
  event: [MediaWorkerHandle, WorkerEvent];
  /** A worker died; a replacement is being started in its slot. */
  workerFailed: [MediaWorkerHandle];
}

/**
 * The node's media workers: one per slot (`--workers`), each on its own UDP
 * port(s), all connected pairwise by MessagePorts for the in-process media
 * bus. In a cluster, also the media gateway (media between nodes over NATS):
 * one more peer of that bus in a thread of its own, or inside the only worker
 * (`--media-gateway`). A worker or gateway that dies is replaced (a worker in
 * its slot, with a fresh binding copy).
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  private readonly slots: MediaWorkerHandle[] = [];
  private gateway: GatewayHandle | undefined;
  /** Whether the gateway runs inside worker 0 instead of a thread of its own. */
  private readonly gatewayInWorker: boolean;
  /** Consecutive failed starts per slot (GATEWAY_SLOT for the gateway). */
  private readonly respawns = new Map<number, number>();
  private stopping = false;

  constructor(
    private readonly config: NodeConfig,
    private readonly log: Logger,
  ) {
    super();
    this.gatewayInWorker = gatewayInWorker(config);
  }

  async start(): Promise<void> {
    for (let slot = 0; slot < this.config.workers; slot++) this.spawn(slot);
    if (this.config.cluster && !this.gatewayInWorker) this.spawnGateway();
    // A worker hosting the gateway is ready once it reached NATS.
    const ready = Promise.all(this.slots.map(async (w) => (await w.ready).libraryVersion));
    const versions = await (this.gatewayInWorker ? this.gatewayConnected(ready) : ready);
    this.log.info({ workers: this.slots.length, libdatachannel: versions[0], mediaGateway: this.gatewayInWorker ? 'worker' : this.gateway ? 'thread' : 'none' }, 'media workers started');
    if (this.gateway) await this.gatewayConnected(this.gateway.ready);
  }

  get workers(): readonly MediaWorkerHandle[] {
    return this.slots;
  }

  get(workerId: number): MediaWorkerHandle | undefined {
    return this.slots[workerId];
  }

  /** What the media gateway last reported (NATS messages and bytes, tracks published and pulled); undefined without a cluster. */
  get gatewayStats(): GatewayStats | undefined {
    return this.gatewayInWorker ? this.slots[0]?.stats?.gateway : this.gateway?.stats;
  }

  /** The media gateway's counters now (undefined without a cluster, or while it is being replaced). */
  async fetchGatewayStats(): Promise<GatewayStats | undefined> {
    if (this.gatewayInWorker) return this.slots[0]?.alive ? (await this.slots[0].request('getStats', {})).gateway : undefined;
    return this.gateway?.alive ? this.gateway.request('getStats', {}) : undefined;
  }

  /** The media gateway thread (undefined without a cluster, or when the gateway runs inside the worker). */
  get mediaGateway(): GatewayHandle | undefined {
    return this.gateway;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((w) => w.shutdown()));
    await this.gateway?.shutdown();
  }

  /** Waits for the gateway's first NATS connection (`ready`), at most the cluster's connect timeout. */
  private async gatewayConnected<T>(ready: Promise<T>): Promise<T> {
    const { servers, connectTimeoutMs } = this.config.cluster!;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the media gateway could not reach NATS at ${servers.join(', ')} within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    });
    try {
      const result = await Promise.race([ready, timeout]);
      this.log.info({ nats: servers }, 'media gateway connected');
      return result;
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private spawn(slot: number): MediaWorkerHandle {
    const settings = { ...this.config.media, ...workerPorts(this.config, slot) };
    const log = this.log.child({ worker: slot });
    const gateway = this.gatewayInWorker ? { gatewayServers: this.config.cluster!.servers } : {};
    const handle = new MediaWorkerHandle(slot, { nodeId: this.config.nodeId, workerId: slot, settings, logLevel: this.config.logLevel, ...gateway }, log);
    this.slots[slot] = handle;
    handle.on('event', (event) => this.emit('event', handle, event));
    handle.on('exit', ({ failed }) => {
      if (!failed || this.stopping) return;
      this.emit('workerFailed', handle);
      this.respawn(slot, log, () => this.spawn(slot).ready);
    });
    for (const other of this.slots) if (other && other !== handle && other.alive) this.connect(handle, other);
    if (this.gateway?.alive) this.connect(handle, this.gateway);
    return handle;
  }

  private spawnGateway(): GatewayHandle {
    const { cluster, nodeId, logLevel } = this.config;
    const log = this.log.child({ thread: 'media-gateway' });
    const handle = new GatewayHandle({ nodeId, servers: cluster!.servers, logLevel }, log);
    this.gateway = handle;
    handle.on('exit', ({ failed }) => {
      if (!failed || this.stopping) return;
      this.respawn(GATEWAY_SLOT, log, () => this.spawnGateway().ready);
    });
    for (const worker of this.slots) if (worker?.alive) this.connect(worker, handle);
    return handle;
  }

  /** A MessageChannel between two peers of the media bus. */
  private connect(a: MediaWorkerHandle | GatewayHandle, b: MediaWorkerHandle | GatewayHandle): void {
    const { port1, port2 } = new MessageChannel();
    a.connectBusPeer(b.id, port1);
    b.connectBusPeer(a.id, port2);
  }

  /** Starts a replacement after a delay that grows while replacements keep failing (a port still taken, say). */
  private respawn(slot: number, log: Logger, start: () => Promise<unknown>): void {
    const delay = Math.min(MAX_RESPAWN_DELAY_MS, RESPAWN_DELAY_MS * 2 ** (this.respawns.get(slot) ?? 0));
    this.respawns.set(slot, (this.respawns.get(slot) ?? 0) + 1);
    setTimeout(() => {
      if (this.stopping) return;
      start().then(
        () => {
          this.respawns.delete(slot);
          log.info('replacement ready');
        },
        (error) => log.error({ err: error }, 'replacement failed to start'),
      );
    }, delay);
  }
}
