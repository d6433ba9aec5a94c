import type { Logger } from 'pino';
import uWS from 'uWebSockets.js';
import type { RoomService } from '../rooms/room-service.js';
import { SignalingSession } from '../signaling/session.js';
import { loadStaticFiles } from './static-files.js';

/** Frames up to this size reach the session (which answers too-large ones with an error); larger ones close the socket. */
const HARD_FRAME_LIMIT = 16 * 1024 * 1024;
const MAX_BACKPRESSURE = 4 * 1024 * 1024;

export interface HttpServerOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  rooms: RoomService;
  /** JSON for GET /stats. */
  stats: () => unknown;
  log: Logger;
}

interface SocketData {
  session?: SignalingSession;
}

export interface HttpServer {
  port: number;
  /** Stops listening; open WebSockets stay until `closeSockets`. */
  stopListening(): void;
  /** Closes every WebSocket with "going away". */
  closeSockets(): void;
}

/**
 * The node's one TCP listener (uWebSockets.js): the signaling WebSocket at
 * /ws, the demo page and browser client at /, GET /healthz and GET /stats.
 */
export function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { log } = options;
  const files = loadStaticFiles();
  const sockets = new Set<uWS.WebSocket<SocketData>>();
  const app = uWS.App();

  app.ws<SocketData>('/ws', {
    compression: uWS.DISABLED,
    maxPayloadLength: HARD_FRAME_LIMIT,
    maxBackpressure: MAX_BACKPRESSURE,
    idleTimeout: 60,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      res.upgrade<SocketData>(
        {},
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      sockets.add(ws);
      const socket = {
        send: (data: string | Uint8Array, binary: boolean) => {
          // 2: dropped, MAX_BACKPRESSURE is buffered already. A client that misses messages has a
          // broken session (a lost offer stalls its connection): close it so that it reconnects.
          if (ws.send(data, binary) === 2) {
            log.warn({ buffered: ws.getBufferedAmount() }, 'client too slow to read its messages; closing its socket');
            ws.end(1008, 'too slow: messages would be lost');
          }
        },
        bufferedAmount: () => ws.getBufferedAmount(),
      };
      ws.getUserData().session = new SignalingSession(socket, options.rooms, options.maxMessageBytes, log);
    },
    message: (ws, message, isBinary) => {
      // uWS reuses `message` after this callback returns: copy it.
      ws.getUserData().session?.onFrame(new Uint8Array(message.slice(0)), isBinary);
    },
    close: (ws) => {
      sockets.delete(ws);
      ws.getUserData().session?.onClose();
    },
  });

  app.get('/healthz', (res) => {
    res.writeHeader('content-type', 'text/plain').end('ok');
  });
  app.get('/stats', (res) => {
    res.writeHeader('content-type', 'application/json').end(JSON.stringify(options.stats()));
  });
  app.get('/*', (res, req) => {
    const file = files.get(req.getUrl());
    if (!file) {
      res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('not found');
      return;
    }
    res.writeHeader('content-type', file.contentType).writeHeader('cache-control', 'no-cache').end(file.body);
  });
  app.any('/*', (res) => {
    res.writeStatus('405 Method Not Allowed').end();
  });

  return new Promise((resolve, reject) => {
    app.listen(options.host, options.port, (listenSocket) => {
      if (!listenSocket) {
        reject(new Error(`cannot listen on ${options.host}:${options.port}`));
        return;
      }
      const port = uWS.us_socket_local_port(listenSocket);
      resolve({
        port,
        stopListening: () => uWS.us_listen_socket_close(listenSocket),
        closeSockets: () => {
          for (const ws of [...sockets]) ws.end(1001, 'server shutting down');
        },
      });
    });
  });
}
