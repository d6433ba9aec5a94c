/**
 * One signaling WebSocket of the browser client: JSON frames, requests
 * matched to their replies by request id, and a liveness check with the
 * protocol's `ping` (docs/signaling.md 4.7). Served as
 * `/signaling-connection.js` beside `/shoal-client.js`.
 */

/** An error from the server (`code` is an ErrorCode name, e.g. "INVALID_NAME") or from this client. */
export class ShoalError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ShoalError';
  }
}

// The parts of the wire messages the client reads. Default values are omitted on the wire.
export type Role = 'PUBLISHER' | 'SUBSCRIBER';
export interface WireParticipant {
  participantId: string;
  identity: string;
}
export interface WireTrack {
  trackId: string;
  participantId?: string;
  identity?: string;
  kind?: 'AUDIO' | 'VIDEO';
  codec?: string;
}
export interface TrackMid {
  mid: string;
  trackId: string;
}
export interface WireData {
  fromParticipantId?: string;
  fromIdentity?: string;
  text?: string;
  binary?: string;
  unreliable?: boolean;
}
export interface ServerMessage {
  requestId?: number;
  joined?: { room: string; participantId: string; identity: string; participants?: WireParticipant[]; tracks?: WireTrack[] };
  publishAnswer?: { sdp: string; tracks?: TrackMid[] };
  subscriberOffer?: { sdp: string; tracks?: TrackMid[]; restart?: boolean; offerId?: number };
  trickle?: { target?: Role; candidate?: string; sdpMid?: string };
  participantJoined?: { participant: WireParticipant };
  participantLeft?: { participantId: string; identity?: string };
  trackPublished?: { track: WireTrack };
  trackUnpublished?: { trackId: string };
  data?: WireData;
  error?: { code?: string; message?: string; role?: Role };
  left?: { reason?: string };
  pong?: { nonce?: number };
}

const REQUEST_TIMEOUT_MS = 15_000;

/** Why a connection was lost: the socket closed (`SOCKET_CLOSED`), or the node stopped answering (`PING_TIMEOUT`). */
export interface ConnectionLoss {
  reason: 'SOCKET_CLOSED' | 'PING_TIMEOUT';
  message: string;
  /** The WebSocket close code (1006 when the node went without a close frame; 0 after a ping timeout). */
  code: number;
}

export interface ConnectionHandlers {
  /** Every message, before a reply settles its request; `isReply` when it answers one of this connection's requests. */
  message(message: ServerMessage, isReply: boolean): void;
  /** The socket closed or stopped answering; not called after `close()`. */
  lost(loss: ConnectionLoss): void;
}

export class SignalingConnection {
  private nextRequestId = 1;
  private readonly pending = new Map<number, { resolve: (m: ServerMessage) => void; reject: (e: ShoalError) => void }>();
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongDeadline: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  private constructor(
    private readonly ws: WebSocket,
    /** The node's signaling URL. */
    readonly url: string,
    private readonly handlers: ConnectionHandlers,
  ) {
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return;
      }
      this.receive(message);
    };
    ws.onclose = (event) => this.lose({ reason: 'SOCKET_CLOSED', code: event.code, message: `the signaling WebSocket closed (${event.code}${event.reason ? ` ${event.reason}` : ''})` });
  }

  /** Opens `url` (`ws(s)://host/ws`); rejects with CLOSED when it cannot, TIMEOUT when it takes over `timeoutMs`. */
  static open(url: string, handlers: ConnectionHandlers, timeoutMs: number): Promise<SignalingConnection> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (error) {
        reject(new ShoalError('CLOSED', `cannot connect to ${url}: ${String(error)}`));
        return;
      }
      const fail = (error: ShoalError) => {
        clearTimeout(timer);
        ws.onopen = ws.onerror = ws.onclose = null;
        ws.close();
        reject(error);
      };
      const timer = setTimeout(() => fail(new ShoalError('TIMEOUT', `cannot connect to ${url} within ${timeoutMs} ms`)), timeoutMs);
      ws.onerror = ws.onclose = () => fail(new ShoalError('CLOSED', `cannot connect to ${url}`));
      ws.onopen = () => {
        clearTimeout(timer);
        ws.onerror = null;
        resolve(new SignalingConnection(ws, url, handlers));
      };
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a `ping` every `intervalMs`; when nothing at all has arrived
   * `timeoutMs` after one, the node is lost (PING_TIMEOUT). A node killed
   * without its socket being closed (power loss, a cut network, a stopped
   * process) is noticed this way.
   */
  startPing(intervalMs: number, timeoutMs: number): void {
    if (intervalMs <= 0 || this.closed) return;
    let nonce = 0;
    this.pingTimer = setInterval(() => {
      if (this.pongDeadline !== undefined) return; // one ping at a time
      this.send({ ping: { nonce: ++nonce } });
      this.pongDeadline = setTimeout(
        () => this.lose({ reason: 'PING_TIMEOUT', code: 0, message: `no answer from ${this.url} within ${timeoutMs} ms of a ping` }),
        timeoutMs,
      );
    }, intervalMs);
  }

  /** Sends one message; false when the socket is not open (the message is dropped). */
  send(message: object): boolean {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Sends with a fresh request id; resolves with the reply, rejects with the server's error (or CLOSED, TIMEOUT). */
  request(message: object, timeoutMs = REQUEST_TIMEOUT_MS): Promise<ServerMessage> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new ShoalError('CLOSED', 'signaling connection closed'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new ShoalError('TIMEOUT', `no reply to ${Object.keys(message)[0]} within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          fn(value);
        };
      this.pending.set(requestId, { resolve: settle(resolve), reject: settle(reject) });
      this.send({ requestId, ...message });
    });
  }

  /** Closes the socket; nothing more is reported, and requests still waiting reject with CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.onmessage = this.ws.onclose = null;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongDeadline);
    this.ws.close();
    for (const { reject } of this.pending.values()) reject(new ShoalError('CLOSED', 'signaling connection closed'));
    this.pending.clear();
  }

  private receive(message: ServerMessage): void {
    clearTimeout(this.pongDeadline);
    this.pongDeadline = undefined;
    if (message.pong) return;
    const reply = message.requestId ? this.pending.get(message.requestId) : undefined;
    if (reply) this.pending.delete(message.requestId!);
    try {
      this.handlers.message(message, reply !== undefined);
    } finally {
      if (reply && message.error) reply.reject(new ShoalError(message.error.code ?? 'ERROR_CODE_UNSPECIFIED', message.error.message ?? ''));
      else reply?.resolve(message);
    }
  }

  private lose(loss: ConnectionLoss): void {
    if (this.closed) return;
    this.close();
    this.handlers.lost(loss);
  }
}
