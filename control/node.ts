import type { Logger } from 'pino';
import { AccessControl } from './auth/access-control.js';
import { validateConfig, workerPorts, type NodeConfig } from './config.js';
import { selectEngine, type EngineSelection } from './http/engine.js';
import { jsonReply, startHttpServer, type HttpServer } from './http/http-server.js';
import { NatsDataLink } from './cluster/data-link.js';
import { openCluster, type Cluster } from './cluster/open-cluster.js';
import { RoomService } from './rooms/room-service.js';
import { MemoryRoomStore } from './store/memory-room-store.js';
import type { RoomStore } from './store/room-store.js';
import { WorkerPool } from './workers/worker-pool.js';

/**
 * One Shoal node: media workers, the room service, the store and the HTTP /
 * WebSocket listener, started together and drained together. With
 * `config.cluster` the node joins a cluster: the store is NATS JetStream KV,
 * data messages to other nodes' participants go over NATS, and the worker
 * pool's gateway carries media between nodes.
 */
export class ShoalNode {
  readonly pool: WorkerPool;
  readonly access: AccessControl;
  private readonly engine: EngineSelection;
  private cluster: Cluster | undefined;
  private dataLink: NatsDataLink | undefined;
  private store: RoomStore | undefined;
  private roomService: RoomService | undefined;
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
    this.access = new AccessControl(config.auth);
    if (this.access.open) {
      log.warn('no auth secret or key configured: anyone who reaches this node can join any room and read /stats (see --auth-secret)');
    }
    this.pool = new WorkerPool(config, log);
  }

  /** The node's rooms (after start). */
  get rooms(): RoomService {
    if (!this.roomService) throw new Error('node not started');
    return this.roomService;
  }

  /** The port the HTTP/WebSocket listener is on (after start). */
  get port(): number {
    if (!this.server) throw new Error('node not started');
    return this.server.port;
  }

  async start(): Promise<void> {
    const { config } = this;
    this.log.info({ wsEngine: this.engine.engine, detail: this.engine.detail }, 'WebSocket engine chosen');
    // NATS unreachable: openCluster throws (naming the URLs) after --nats-connect-timeout, before anything else started.
    this.cluster = config.cluster ? await openCluster(config, this.log) : undefined;
    this.store = this.cluster?.store ?? new MemoryRoomStore();
    const cluster = this.cluster;
    this.dataLink = cluster
      ? new NatsDataLink(cluster.connection, config.nodeId, config.maxMessageBytes, config.limits.maxParticipantsPerRoom, (room, ids, message) => this.rooms.receiveClusterData(room, ids, message), this.log)
      : undefined;
    this.roomService = new RoomService(this.pool, this.store, this.access, config, this.log, this.dataLink);
    try {
      await this.pool.start();
      this.server = await startHttpServer({
        host: config.host,
        port: config.port,
        engine: this.engine,
        ...(config.tls ? { tls: config.tls } : {}),
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
      await this.leaveCluster();
      throw error;
    }
    const udpPorts = this.pool.workers.map((_, i) => workerPorts(config, i)).map((p) => (p.portRangeBegin === p.portRangeEnd ? `${p.portRangeBegin}` : `${p.portRangeBegin}-${p.portRangeEnd}`));
    this.log.info({ node: this.config.nodeId, host: config.host, port: this.server.port, tls: config.tls !== undefined, wsEngine: this.server.engine, udpPorts, rtcBind: config.media.bindAddress }, 'shoal node listening');
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
      // Media between nodes: NATS messages and bytes, tracks published to and pulled from other nodes.
      ...(this.config.cluster ? { gateway: this.pool.gatewayStats ?? null } : {}),
    };
  }

  /** This node's records are deleted at once (not after the node timeout), then NATS is drained. */
  private async leaveCluster(): Promise<void> {
    this.dataLink?.close();
    if (this.cluster) await this.cluster.close();
    else await this.store?.close();
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
          await this.leaveCluster();
        })(),
        timeout,
      ]);
      this.log.info('drained');
    } finally {
      clearTimeout(timer);
    }
  }
}
