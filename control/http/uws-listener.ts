import { STATUS_CODES } from 'node:http';
import type * as uWS from 'uWebSockets.js';
import { INTERNAL_ERROR_REPLY, listenFailure, type EngineSocket, type HttpReply, type Listener, type ListenerOptions, type SocketEvents } from './listener.js';

type UwsModule = typeof uWS;

interface SocketData {
  events?: SocketEvents;
  open: boolean;
}

/** uWS.ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT, so a second node on the port fails instead of sharing it. */
const EXCLUSIVE_PORT = 1;

/** listen(host, port, options, cb): in uWS.js, missing from its type declarations. */
type ListenWithOptions = (host: string, port: number, options: number, cb: (listenSocket: uWS.us_listen_socket | false) => void) => void;

/**
 * The listener on uWebSockets.js (a native build, loaded by engine.ts).
 * uWS keeps no timers here (idleTimeout 0, no automatic pings): idle and
 * half-sent frames are timed by http-server.ts for both engines. uWS checks a
 * frame's length in its header against `maxPayloadLength` and closes at once
 * (no close frame) when it is over; it also closes on a text frame that is
 * not valid UTF-8 (it cannot be told not to). uWS bounds HTTP request headers
 * itself (docs/security.md); bodies are read here up to `maxBodyBytes`.
 * With `tls`, an SSLApp reads the certificate and key files (checked at start
 * by tls.ts) and speaks TLS only.
 */
export function startUwsListener(uws: UwsModule, options: ListenerOptions): Promise<Listener> {
  const { handlers } = options;
  const app = options.tls ? uws.SSLApp({ cert_file_name: options.tls.certFile, key_file_name: options.tls.keyFile }) : uws.App();

  app.ws<SocketData>('/*', {
    compression: uws.DISABLED,
    maxPayloadLength: options.hardMessageLimit,
    maxBackpressure: options.maxBackpressure,
    idleTimeout: 0,
    sendPingsAutomatically: false,
    upgrade: (res, req, context) => {
      const refusal = handlers.upgrade({ path: req.getUrl(), origin: req.getHeader('origin') || undefined });
      if (refusal) {
        writeReply(res, refusal, true);
        return;
      }
      res.upgrade<SocketData>(
        { open: true },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      const data = ws.getUserData();
      data.events = handlers.open(engineSocket(ws, data));
    },
    // uWS reuses `message` after this callback returns: copy it.
    message: (ws, message, isBinary) => ws.getUserData().events?.onMessage(Buffer.from(message.slice(0)), isBinary),
    ping: (ws) => ws.getUserData().events?.onControlFrame(),
    pong: (ws) => ws.getUserData().events?.onControlFrame(),
    close: (ws) => {
      const data = ws.getUserData();
      data.open = false;
      data.events?.onClose();
    },
  });

  app.any('/*', (res, req) => {
    // `req` is valid only during this call: everything needed is copied now.
    const headers: Record<string, string> = {};
    req.forEach((name, value) => {
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    });
    const request = { method: req.getMethod().toUpperCase(), path: req.getUrl(), query: req.getQuery() ?? '', headers };
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const answer = (body: Buffer | undefined) => {
      void Promise.resolve()
        .then(() => handlers.http({ ...request, body }))
        .catch(() => INTERNAL_ERROR_REPLY)
        .then((reply) => {
          // A body left unread (over the limit) ends the connection.
          if (!aborted) res.cork(() => writeReply(res, reply, body === undefined));
        });
    };
    if (Number(headers['content-length'] ?? 0) > options.maxBodyBytes) {
      answer(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    // uWS calls this for every request, once with an empty last chunk when there is no body.
    res.onData((chunk, isLast) => {
      if (done) return;
      length += chunk.byteLength;
      if (length > options.maxBodyBytes) {
        done = true;
        answer(undefined);
        return;
      }
      // uWS reuses the chunk's memory after this call: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) {
        done = true;
        answer(Buffer.concat(chunks, length));
      }
    });
  });

  return new Promise((resolve, reject) => {
    (app.listen as unknown as ListenWithOptions).call(app, options.host, options.port, EXCLUSIVE_PORT, (listenSocket) => {
      if (!listenSocket) {
        reject(listenFailure(options.host, options.port, 'the port is in use or the address is not available here'));
        return;
      }
      resolve({
        engine: 'uws',
        port: uws.us_socket_local_port(listenSocket as unknown as uWS.us_socket),
        stopListening: () => uws.us_listen_socket_close(listenSocket),
      });
    });
  });
}

function engineSocket(ws: uWS.WebSocket<SocketData>, data: SocketData): EngineSocket {
  return {
    // 2: dropped, maxBackpressure is buffered already.
    send: (message, binary) => data.open && ws.send(message, binary) !== 2,
    bufferedAmount: () => (data.open ? ws.getBufferedAmount() : 0),
    ping: () => {
      if (data.open) ws.ping();
    },
    end: (code, reason) => {
      if (data.open) ws.end(code, reason);
    },
    terminate: () => {
      if (data.open) ws.close();
    },
  };
}

function writeReply(res: uWS.HttpResponse, reply: HttpReply, closeConnection: boolean): void {
  res.writeStatus(`${reply.status} ${STATUS_CODES[reply.status] ?? ''}`);
  for (const [name, value] of Object.entries(reply.headers)) res.writeHeader(name, value);
  res.end(reply.body, closeConnection);
}
