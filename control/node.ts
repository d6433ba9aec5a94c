import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { AccessControl } from './auth/access-control.js';
import { validateConfig, type NodeConfig } from './config.js';
import { startHttpServer, type HttpServer } from './http/http-server.js';
import { RoomService } from './rooms/room-service.js';
import { MemoryRoomStore } from './store/memory-room-store.js';
import type { RoomStore } from './store/room-store.js';
import { WorkerPool } from './workers/worker-pool.js';

/**
 * One Shoal node: media workers, the room service, the store and the HTTP /
 * WebSocket listener, started together and drained together.
 */
export class ShoalNode {
  readonly id = `${hostname()}-${randomBytes(3).toString('hex')}`;
  readonly pool: WorkerPool;
  readonly rooms: RoomService;
  readonly access: AccessControl;
  private readonly store: RoomStore;
  private server: HttpServer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly config: NodeConfig,
    private readonly log: Logger,
  ) {
    const problems = validateConfig(config);
    if (problems.length > 0) throw new Error(`invalid configuration: ${problems.join('; ')}`);
    if (config.natsUrl) log.warn({ nats: config.natsUrl }, 'NATS URL given: clustering is not available yet, running standalone');
    this.access = new AccessControl(config.auth);
    if (this.access.open) {
      log.warn('no auth secret or key configured: anyone who reaches this node can join any room and read /stats (see --auth-secret)');
    }
    this.pool = new WorkerPool(config, log);
    this.store = new MemoryRoomStore();
    this.rooms = new RoomService(this.pool, this.store, this.access, config, this.id, log);
  }

  /** The port the HTTP/WebSocket listener is on (after start). */
  get port(): number {
    if (!this.server) throw new Error('node not started');
    return this.server.port;
  }

  async start(): Promise<void> {
    await this.pool.start();
    this.server = await startHttpServer({
      host: this.config.host,
      port: this.config.port,
      maxMessageBytes: this.config.maxMessageBytes,
      rooms: this.rooms,
      stats: () => this.stats(),
      log: this.log,
    });
    this.log.info({ node: this.id, host: this.config.host, port: this.server.port }, 'shoal node listening');
  }

  /**
   * Drains: no new joins, every participant removed (clients are told why),
   * sockets closed, workers asked to close their connections and release the
   * binding. Resolves when all of that finished; rejects after the drain timeout.
   */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  stats(): unknown {
    return {
      node: this.id,
      rooms: this.rooms.roomCount,
      participants: this.rooms.participantCount,
      workers: this.pool.workers.map((w) => ({ id: w.id, alive: w.alive, ...w.stats })),
      roomList: this.rooms.dump(),
    };
  }

  private async drain(): Promise<void> {
    this.log.info('draining');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`drain took longer than ${this.config.drainTimeoutMs} ms`)), this.config.drainTimeoutMs);
    });
    try {
      await Promise.race([
        (async () => {
          this.server?.stopListening();
          await this.rooms.drain();
          this.server?.closeSockets();
          await this.pool.stop();
          await this.store.close();
        })(),
        timeout,
      ]);
      this.log.info('drained');
    } finally {
      clearTimeout(timer);
    }
  }
}
