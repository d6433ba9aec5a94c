import type { Logger } from 'pino';
import { AccessControl } from './auth/access-control.js';
import { validateConfig, workerPorts, type NodeConfig } from './config.js';
import { selectEngine, type EngineSelection } from './http/engine.js';
import { jsonReply, startHttpServer, type HttpServer } from './http/http-server.js';
import { RoomService } from './rooms/room-service.js';
import { MemoryRoomStore } from './store/memory-room-store.js';
import type { RoomStore } from './store/room-store.js';
import { WorkerPool } from './workers/worker-pool.js';

/**
 * One Shoal node: media workers, the room service, the store and the HTTP /
 * WebSocket listener, started together and drained together.
 */
export class ShoalNode {
  readonly pool: WorkerPool;
  readonly rooms: RoomService;
  readonly access: AccessControl;
  private readonly store: RoomStore;
  private readonly engine: EngineSelection;
  private server: HttpServer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly config: NodeConfig,
    private readonly log: Logger,
  ) {
    const problems = validateConfig(config);
    if (problems.length > 0) throw new Error(`invalid configuration: ${problems.join('; ')}`);
    // Before any worker starts: `--ws-engine uws` with no native build fails here.
    this.engine = selectEngine(config.wsEngine);
    if (config.cluster) log.warn({ nats: config.cluster.servers }, 'NATS given: clustering is not available yet, running standalone');
    this.access = new AccessControl(config.auth);
    if (this.access.open) {
      log.warn('no auth secret or key configured: anyone who reaches this node can join any room and read /stats (see --auth-secret)');
    }
    this.pool = new WorkerPool(config, log);
    this.store = new MemoryRoomStore();
    this.rooms = new RoomService(this.pool, this.store, this.access, config, log);
  }

  /** The port the HTTP/WebSocket listener is on (after start). */
  get port(): number {
    if (!this.server) throw new Error('node not started');
    return this.server.port;
  }

  async start(): Promise<void> {
    const { config } = this;
    this.log.info({ wsEngine: this.engine.engine, detail: this.engine.detail }, 'WebSocket engine chosen');
    await this.pool.start();
    try {
      this.server = await startHttpServer({
        host: config.host,
        port: config.port,
        engine: this.engine,
        limits: { maxMessageBytes: config.maxMessageBytes, maxConnections: config.limits.maxConnections, maxMessagesPerSecond: config.limits.maxMessagesPerSecond },
        allowedOrigins: config.allowedOrigins,
        iceServers: config.iceServers,
        tokensRequired: !this.access.open,
        maxCandidates: config.media.maxRemoteCandidates,
        idleTimeoutMs: config.idleTimeoutMs,
        rooms: this.rooms,
        // With auth, /stats (rooms and identities) is for admin tokens only.
        stats: (request) =>
          this.access.isAdmin(request.headers.authorization)
            ? jsonReply(this.stats())
            : { ...jsonReply({ error: 'an access token with the admin grant is required: Authorization: Bearer <token>' }, 401), headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' } },
        log: this.log,
      });
    } catch (error) {
      await this.pool.stop();
      throw error;
    }
    const udpPorts = this.pool.workers.map((_, i) => workerPorts(config, i)).map((p) => (p.portRangeBegin === p.portRangeEnd ? `${p.portRangeBegin}` : `${p.portRangeBegin}-${p.portRangeEnd}`));
    this.log.info({ node: this.config.nodeId, host: config.host, port: this.server.port, wsEngine: this.server.engine, udpPorts, rtcBind: config.media.bindAddress }, 'shoal node listening');
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
      node: this.config.nodeId,
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
