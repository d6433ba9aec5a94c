import WebSocket from 'ws';
import { shoal } from '../../proto/generated/shoal.js';

const { ClientMessage, ServerMessage } = shoal.signaling.v1;

/** A server message as a plain object: enums by name, `message` names the type carried. */
export type ServerEvent = {
  requestId: number;
  message: string;
  [type: string]: unknown;
};

export type ClientMessageInit = shoal.signaling.v1.ClientMessage.$Properties;

const TO_OBJECT = { enums: String, longs: Number, defaults: true, oneofs: true, bytes: Buffer } as const;

/**
 * A Node client of Shoal's WebSocket signaling, speaking protobuf (binary
 * frames) or JSON (text frames). Keeps every message received so callers can
 * wait for one that matches, whenever it arrived.
 */
export class SignalingClient {
  readonly received: ServerEvent[] = [];
  private waiters: Array<{ match: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void }> = [];
  private nextRequestId = 1;
  private readonly listeners = new Set<(event: ServerEvent) => void>();
  closed = false;

  private constructor(
    private readonly ws: WebSocket,
    readonly encoding: 'binary' | 'json',
  ) {
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    ws.on('close', () => {
      this.closed = true;
    });
  }

  static connect(url: string, encoding: 'binary' | 'json' = 'binary'): Promise<SignalingClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new SignalingClient(ws, encoding)));
      ws.once('error', reject);
    });
  }

  /** Calls `listener` for every message from now on. */
  onMessage(listener: (event: ServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(message: ClientMessageInit): void {
    if (this.closed) return;
    if (this.encoding === 'binary') {
      this.ws.send(ClientMessage.encode(message).finish());
    } else {
      this.ws.send(JSON.stringify(ClientMessage.toObject(ClientMessage.fromObject(message as Record<string, unknown>), { enums: String, bytes: String, json: true })));
    }
  }

  /** Stops reading the socket (a slow client, for tests); `resumeReading` goes on. */
  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }

  /** Calls `listener` with the close code when the socket closes. */
  onClose(listener: (code: number) => void): void {
    this.ws.on('close', (code) => listener(code));
  }

  /**
   * Sends raw bytes or text, for testing bad input: a string goes as a text frame, bytes as a binary
   * frame unless `text` is set (then as a text frame, valid UTF-8 or not).
   */
  sendRaw(data: string | Buffer, options: { text?: boolean } = {}): void {
    if (this.closed) return;
    this.ws.send(data, options.text ? { binary: false } : {});
  }

  /** Sends with a fresh request id; resolves with the reply carrying that id (an error reply included). */
  request(message: ClientMessageInit, timeoutMs = 10_000): Promise<ServerEvent> {
    const requestId = this.nextRequestId++;
    const reply = this.waitFor((e) => e.requestId === requestId, timeoutMs, `reply to request ${requestId}`);
    this.send({ ...message, requestId });
    return reply;
  }

  /** The first message (already received or future) that matches and was not yet taken by another wait. */
  waitFor(match: (e: ServerEvent) => boolean, timeoutMs = 10_000, what = 'message'): Promise<ServerEvent> {
    const found = this.received.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (e: ServerEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Waits for the next message of a type that arrives after this call. */
  next(type: string, timeoutMs = 10_000, match: (e: ServerEvent) => boolean = () => true): Promise<ServerEvent> {
    const seen = new Set(this.received);
    return this.waitFor((e) => !seen.has(e) && e.message === type && match(e), timeoutMs, type);
  }

  close(): void {
    this.ws.close();
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    const decoded = isBinary ? ServerMessage.decode(data) : ServerMessage.fromObject(JSON.parse(data.toString('utf8')));
    const event = ServerMessage.toObject(decoded, TO_OBJECT) as ServerEvent;
    this.received.push(event);
    for (const listener of this.listeners) listener(event);
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (waiter.match(event)) waiter.resolve(event);
      else this.waiters.push(waiter);
    }
  }
}
