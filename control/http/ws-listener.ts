import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { INTERNAL_ERROR_REPLY, listenFailure, type EngineSocket, type HttpReply, type Listener, type ListenerOptions } from './listener.js';
import type { TlsFiles } from './tls.js';

/** As uWS: an HTTP request (headers included) must arrive within 10 s. */
const HTTP_REQUEST_TIMEOUT_MS = 10_000;
/** Reads (TCP chunks) and fragments one message may arrive in; more close the connection (1009). */
const MAX_PIECES = 1024;
/** Request headers, bytes (Node's default, stated: a request with more is answered 431). */
const MAX_HEADER_BYTES = 16 * 1024;
/** How long a closing handshake waits for the client's close frame before the TCP connection is dropped. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * The listener on node:http and the `ws` package, for Node.js versions with
 * no native uWebSockets.js build. Set up to behave as the uWS listener does:
 * `maxPayload` refuses an over-long frame from its header, text frames are
 * checked for UTF-8 (a bad one fails the connection, RFC 6455 8.1), pings are
 * answered within the backpressure limit, and the port is never shared
 * (node:http does not set SO_REUSEPORT). With `tls` it runs on node:https.
 */
export function startWsListener(options: ListenerOptions): Promise<Listener> {
  const { handlers, maxBackpressure } = options;
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: options.hardMessageLimit,
    autoPong: false,
    // Options of ws 8.23 that @types/ws does not know yet. A message arriving in many small reads or
    // fragments would otherwise cost a Buffer object (~100 bytes) per piece on top of its bytes.
    ...{ closeTimeout: CLOSE_TIMEOUT_MS, maxBufferedChunks: MAX_PIECES, maxFragments: MAX_PIECES },
  });
  const server = serverOf(options.tls)(
    {
      headersTimeout: HTTP_REQUEST_TIMEOUT_MS,
      requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: 1000,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    (req, res) => {
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const request = { method: req.method ?? 'GET', path: pathOf(req), query: query < 0 ? '' : url.slice(query + 1), headers };
      const answer = (body: Buffer | undefined) => {
        void Promise.resolve()
          .then(() => handlers.http({ ...request, body }))
          .catch(() => INTERNAL_ERROR_REPLY)
          .then((reply) => {
            if (res.destroyed) return;
            // A body left unread (over the limit) ends the connection rather than be read and thrown away.
            const headers = body === undefined ? { ...reply.headers, connection: 'close' } : reply.headers;
            res.writeHead(reply.status, headers).end(reply.body, () => {
              if (body === undefined) req.socket.destroy();
            });
          });
      };
      readBody(req, options.maxBodyBytes, answer);
    },
  );

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refusal = handlers.upgrade({ path: pathOf(req), origin: req.headers.origin });
    if (refusal) {
      refuseUpgrade(socket, refusal);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      let open = true;
      const events = handlers.open(engineSocket(ws, maxBackpressure, () => open));
      ws.on('message', (data: Buffer, isBinary) => events.onMessage(data, isBinary));
      ws.on('ping', (data: Buffer) => {
        if (ws.bufferedAmount <= maxBackpressure) ws.pong(data);
        events.onControlFrame();
      });
      ws.on('pong', () => events.onControlFrame());
      // A frame over maxPayload, bad UTF-8, a protocol error: ws has queued a close frame (1009, 1007, 1002).
      // Drop the connection now, as uWS does, rather than read (and discard) what else the client sends.
      ws.on('error', () => ws.terminate());
      ws.on('close', () => {
        open = false;
        events.onClose();
      });
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(listenFailure(options.host, options.port, error.code === 'EADDRINUSE' ? 'the port is in use' : error.message));
    });
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
      const address = server.address();
      resolve({
        engine: 'ws',
        port: typeof address === 'object' && address ? address.port : options.port,
        stopListening: () => server.close(),
      });
    });
  });
}

/** node:http's createServer, or node:https's with the certificate and key read at start. */
function serverOf(tls: TlsFiles | undefined): (options: ServerOptions, onRequest: RequestListener) => Server {
  if (!tls) return createServer;
  return (options, onRequest) => createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, onRequest) as unknown as Server;
}

function engineSocket(ws: WebSocket, maxBackpressure: number, isOpen: () => boolean): EngineSocket {
  return {
    send: (data, binary) => {
      if (!isOpen() || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > maxBackpressure) return false;
      ws.send(data, { binary });
      return true;
    },
    bufferedAmount: () => ws.bufferedAmount,
    ping: () => {
      if (isOpen() && ws.readyState === WebSocket.OPEN) ws.ping();
    },
    end: (code, reason) => {
      if (isOpen()) ws.close(code, reason);
    },
    terminate: () => {
      if (isOpen()) ws.terminate();
    },
  };
}

function refuseUpgrade(socket: Duplex, reply: HttpReply): void {
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
  const headers = Object.entries({ ...reply.headers, 'content-length': String(body.length), connection: 'close' }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}\r\n${headers.join('')}\r\n`), body]));
}

/** Reads a request body up to `maxBytes`; calls `done` once, with undefined when the body is longer (reading stops). */
function readBody(req: IncomingMessage, maxBytes: number, done: (body: Buffer | undefined) => void): void {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    req.pause();
    done(undefined);
    return;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  let finished = false;
  const finish = (body: Buffer | undefined) => {
    if (finished) return;
    finished = true;
    done(body);
  };
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    length += chunk.length;
    if (length > maxBytes) {
      req.pause();
      finish(undefined);
    } else {
      chunks.push(chunk);
    }
  });
  req.on('end', () => finish(Buffer.concat(chunks, length)));
  // An aborted request gets no reply (res.destroyed); nothing to finish.
  req.on('error', () => undefined);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
