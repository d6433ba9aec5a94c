import type { Logger } from 'pino';
import { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { RoomService } from '../rooms/room-service.js';
import { ErrorCode } from '../signaling/codec.js';
import { SignalingSession, type SessionLimits, type SessionSocket } from '../signaling/session.js';
import type { EngineSelection } from './engine.js';
import type { EngineSocket, HttpReply, HttpRequestInfo, ListenerHandlers, SocketEvents, UpgradeRequestInfo, WsEngine } from './listener.js';
import { originAllowed } from './origins.js';
import { loadStaticFiles } from './static-files.js';
import type { TlsFiles } from './tls.js';
import type { IceServer } from '../whip/ice-servers.js';
import { WhipEndpoints } from '../whip/whip-endpoints.js';

/** Outgoing bytes buffered for one socket before the client counts as too slow to read (docs/signaling.md 2.8). */
const MAX_BACKPRESSURE = 4 * 1024 * 1024;
/**
 * Messages up to this many times --max-message-size are read whole and get
 * MESSAGE_TOO_LARGE (the socket stays); larger ones close the connection as
 * soon as their frame header announces them, so nothing larger is ever buffered.
 */
const HARD_LIMIT_FACTOR = 2;
/** A socket is pinged once it has been silent for this share of the idle timeout. */
const PING_AFTER_SHARE = 0.75;

const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY_VIOLATION = 1008;
const CLOSE_TRY_AGAIN_LATER = 1013;

export interface HttpServerOptions {
  host: string;
  port: number;
  engine: EngineSelection;
  /** Set: https and wss only, with this certificate (--tls-cert, --tls-key). */
  tls?: TlsFiles;
  limits: SessionLimits & {
    /** WebSockets open at once; more are told TOO_MANY_CONNECTIONS and closed. */
    maxConnections: number;
  };
  /** Browser origins allowed to open /ws and to call WHIP/WHEP; empty: any. */
  allowedOrigins: readonly string[];
  /** STUN/TURN servers named to WHIP/WHEP clients. */
  iceServers: readonly IceServer[];
  /** Whether joins need a token (the node has an auth key). */
  tokensRequired: boolean;
  /** Remote candidates one connection accepts (one WHIP/WHEP PATCH carries no more). */
  maxCandidates: number;
  /** A socket from which no complete frame arrived for this long is dropped (a half-sent frame included), ms. */
  idleTimeoutMs: number;
  rooms: RoomService;
  /** GET /stats. Sees the request (its Authorization header) and answers it whole. */
  stats: (request: HttpRequestInfo) => HttpReply;
  log: Logger;
}

export interface HttpServer {
  engine: WsEngine;
  port: number;
  /** Stops listening; open WebSockets stay until `closeSockets`. */
  stopListening(): void;
  /** Closes every WebSocket with "going away". */
  closeSockets(): void;
}

export function textReply(status: number, body: string): HttpReply {
  return { status, headers: { 'content-type': 'text/plain' }, body };
}

export function jsonReply(value: unknown, status = 200): HttpReply {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

/**
 * The node's one TCP listener: the signaling WebSocket at /ws, WHIP and WHEP
 * at /whip/ and /whep/, the demo page and browser client at /, GET /healthz
 * and GET /stats, on the WebSocket engine chosen at start (engine.ts).
 * Everything that decides lives here, the same for both engines: routes,
 * allowed origins, the connection limit (WebSockets and WHIP/WHEP sessions
 * together), the idle timeout (pings, and dropping sockets that send no
 * complete frame), slow readers. Each socket gets a SignalingSession.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const warnings = new RateLimitedLog(options.log);
  const whip: WhipEndpoints = new WhipEndpoints({
    rooms: options.rooms,
    iceServers: options.iceServers,
    allowedOrigins: options.allowedOrigins,
    tokensRequired: options.tokensRequired,
    maxRequestsPerSecond: options.limits.maxMessagesPerSecond,
    maxCandidates: options.maxCandidates,
    sessionAllowed: () => sockets.size + whip.size < options.limits.maxConnections,
    log: options.log,
    warnings,
  });
  const sockets = new SocketTable(options, warnings, () => whip.size);
  const files = loadStaticFiles();

  const handlers: ListenerHandlers = {
    http: (request) => {
      if (whip.handles(request.path)) return whip.handle(request);
      if (request.method !== 'GET') return textReply(405, 'method not allowed');
      if (request.path === '/healthz') return textReply(200, 'ok');
      if (request.path === '/stats') return options.stats(request);
      const file = files.get(request.path);
      if (!file) return textReply(404, 'not found');
      return { status: 200, headers: { 'content-type': file.contentType, 'cache-control': 'no-cache' }, body: file.body };
    },
    upgrade: (request: UpgradeRequestInfo) => {
      if (request.path !== '/ws') return textReply(404, 'not found');
      if (!originAllowed(options.allowedOrigins, request.origin)) {
        warnings.warn('origin-refused', { origin: request.origin }, 'WebSocket from an origin not in --allowed-origins refused');
        return textReply(403, 'origin not allowed');
      }
      return undefined;
    },
    open: (socket) => sockets.open(socket),
  };

  const listener = await options.engine.start({
    host: options.host,
    port: options.port,
    hardMessageLimit: HARD_LIMIT_FACTOR * options.limits.maxMessageBytes,
    maxBackpressure: MAX_BACKPRESSURE,
    // A WHIP/WHEP offer is bounded like one over the WebSocket.
    maxBodyBytes: options.limits.maxMessageBytes,
    ...(options.tls ? { tls: options.tls } : {}),
    handlers,
  });
  return {
    engine: listener.engine,
    port: listener.port,
    stopListening: () => listener.stopListening(),
    closeSockets: () => {
      sockets.closeAll();
      warnings.flush();
    },
  };
}

/** The open WebSockets: their count, their idle timers. */
class SocketTable {
  private readonly connections = new Set<Connection>();
  private readonly pingAfterMs: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: HttpServerOptions,
    readonly warnings: RateLimitedLog,
    /** WHIP/WHEP sessions open: they count against the connection limit too. */
    private readonly otherSessions: () => number,
  ) {
    this.pingAfterMs = options.idleTimeoutMs * PING_AFTER_SHARE;
  }

  get size(): number {
    return this.connections.size;
  }

  open(socket: EngineSocket): SocketEvents {
    const { limits, rooms } = this.options;
    const connection = new Connection(socket, this);
    connection.session = new SignalingSession(connection, rooms, limits, this.warnings);
    if (this.connections.size + this.otherSessions() >= limits.maxConnections) {
      this.warnings.warn('too-many-connections', { maxConnections: limits.maxConnections }, 'WebSocket refused: --max-connections are open');
      const message = `this node has ${limits.maxConnections} connections open: try again later, or another node`;
      connection.session.closeWithError(ErrorCode.TOO_MANY_CONNECTIONS, message, CLOSE_TRY_AGAIN_LATER, 'too many connections');
      return connection;
    }
    this.connections.add(connection);
    // One timer for all sockets, running while there are any.
    this.sweeper ??= setInterval(() => this.sweep(), Math.min(2000, this.options.idleTimeoutMs / 4)).unref();
    return connection;
  }

  forget(connection: Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  closeAll(): void {
    for (const connection of [...this.connections]) connection.close(CLOSE_GOING_AWAY, 'server shutting down');
  }

  /**
   * Pings sockets that have been silent for a while and drops those silent
   * for the idle timeout, pinged at least one sweep before (a late timer
   * must not skip the ping). Silent means no complete frame: a client sending
   * a frame slowly, however steadily, is silent until the frame is complete
   * (and cannot answer pings meanwhile: a pong cannot interrupt a frame).
   */
  private sweep(): void {
    const now = performance.now();
    for (const connection of this.connections) {
      const silentMs = now - connection.lastHeardAt;
      if (silentMs < this.pingAfterMs) continue;
      if (!connection.pinged) connection.ping();
      else if (silentMs >= this.options.idleTimeoutMs) connection.terminate();
    }
  }
}

/** One WebSocket between its engine and its session. */
class Connection implements SessionSocket, SocketEvents {
  session!: SignalingSession;
  lastHeardAt = performance.now();
  /** Pinged since it was last heard. */
  pinged = false;
  private closed = false;

  constructor(
    private readonly socket: EngineSocket,
    private readonly table: SocketTable,
  ) {}

  send(data: string | Uint8Array, binary: boolean): void {
    if (this.closed || this.socket.send(data, binary)) return;
    // A client that misses messages has a broken session (a lost offer stalls its connection): close it so that it reconnects.
    this.table.warnings.warn('slow-reader', {}, 'client too slow to read its messages: closing its socket');
    this.close(CLOSE_POLICY_VIOLATION, 'too slow: messages would be lost');
  }

  /** Bytes sent and not yet taken by the client. */
  bufferedAmount(): number {
    return this.closed ? 0 : this.socket.bufferedAmount();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.finish();
    this.socket.end(code, reason);
  }

  terminate(): void {
    if (this.closed) return;
    this.finish();
    this.socket.terminate();
  }

  ping(): void {
    if (this.closed) return;
    this.pinged = true;
    this.socket.ping();
  }

  onMessage(data: Uint8Array, binary: boolean): void {
    if (this.closed) return;
    this.heard();
    this.session.onFrame(data, binary);
  }

  onControlFrame(): void {
    if (this.closed) return;
    this.heard();
    this.session.onControlFrame();
  }

  onClose(): void {
    if (!this.closed) this.finish();
  }

  private heard(): void {
    this.lastHeardAt = performance.now();
    this.pinged = false;
  }

  private finish(): void {
    this.closed = true;
    this.table.forget(this);
    this.session.onClose();
  }
}
