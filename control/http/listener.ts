/**
 * "The listener": the node's one TCP port, as the rest of the control plane
 * sees it, whichever WebSocket engine runs under it (uWebSockets.js where a
 * native build loads, `ws` on node:http elsewhere; see engine.ts). An engine
 * only translates: routes, limits and policy live in http-server.ts, so both
 * engines behave the same.
 */

import type { TlsFiles } from './tls.js';

export type WsEngine = 'uws' | 'ws';

/** A plain HTTP request, as much of it as the routes need. */
export interface HttpRequestInfo {
  /** Upper case: GET, HEAD, POST, ... */
  method: string;
  /** The path, without the query string. */
  path: string;
  /** The query string, without the "?" ("" when there is none). */
  query: string;
  /** Header values by lower-case name (repeated headers joined with ", "). */
  headers: Readonly<Record<string, string>>;
  /**
   * The request body; undefined when it was longer than `maxBodyBytes` and so
   * was not read (the engine closes the connection after the reply).
   */
  body: Buffer | undefined;
}

/** A WebSocket upgrade request. */
export interface UpgradeRequestInfo {
  path: string;
  /** The Origin header (browsers always send one), if any. */
  origin: string | undefined;
}

/** An HTTP response, written whole. */
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** One open WebSocket, as an engine gives it. Calls after it closed do nothing. */
export interface EngineSocket {
  /** Queues a frame. False, and nothing queued, when `maxBackpressure` bytes are buffered already. */
  send(data: string | Uint8Array, binary: boolean): boolean;
  /** Bytes queued and not yet taken by the client. */
  bufferedAmount(): number;
  /** Sends a ping control frame (the client's WebSocket answers with a pong). */
  ping(): void;
  /** Closing handshake: a close frame with `code` and `reason`, then the TCP connection ends. */
  end(code: number, reason: string): void;
  /** Drops the TCP connection at once, without a close frame. */
  terminate(): void;
}

/** What an engine reports about one WebSocket. */
export interface SocketEvents {
  /** A complete message (all its fragments). `data` belongs to the callee. */
  onMessage(data: Uint8Array, binary: boolean): void;
  /** A ping or pong control frame arrived; pings have been answered already. */
  onControlFrame(): void;
  /** The socket closed, whatever the reason (possibly some time after `end` or `terminate`). */
  onClose(): void;
}

/** The engine-neutral side: what to answer, what to accept. */
export interface ListenerHandlers {
  /** Every HTTP request that is not a WebSocket upgrade; called once its body is read. A rejection is answered 500. */
  http(request: HttpRequestInfo): HttpReply | Promise<HttpReply>;
  /** A WebSocket upgrade: a reply refuses it, undefined accepts it. */
  upgrade(request: UpgradeRequestInfo): HttpReply | undefined;
  /** A WebSocket was accepted. */
  open(socket: EngineSocket): SocketEvents;
}

export interface ListenerOptions {
  host: string;
  /** 0 picks a free port. The port is never shared: a second listener on it fails. */
  port: number;
  /**
   * Messages larger than this close the connection as soon as a frame header
   * announces it (or the fragments add up to it), before the payload is
   * buffered. Smaller ones are buffered whole and handed to `onMessage`.
   */
  hardMessageLimit: number;
  /** Bytes buffered for a slow reader before `send` refuses. */
  maxBackpressure: number;
  /**
   * Longest HTTP request body read. A longer one (by its Content-Length, or
   * as it arrives) is not buffered: the request is handed over without a body
   * and the connection closes after the reply.
   */
  maxBodyBytes: number;
  /** Set: the listener speaks TLS only (https, wss) with this certificate; unset: plain HTTP. */
  tls?: TlsFiles;
  handlers: ListenerHandlers;
}

export interface Listener {
  readonly engine: WsEngine;
  readonly port: number;
  /** Stops accepting connections; open WebSockets stay. */
  stopListening(): void;
}

export type StartListener = (options: ListenerOptions) => Promise<Listener>;

/** The reply to a request whose handler failed: the engines never leave a request unanswered. */
export const INTERNAL_ERROR_REPLY: HttpReply = { status: 500, headers: { 'content-type': 'text/plain' }, body: 'internal error' };

/** The message of a listen failure, with the address. */
export function listenFailure(host: string, port: number, why: string): Error {
  return new Error(`cannot listen on ${host}:${port}: ${why}`);
}
