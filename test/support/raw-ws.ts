import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client written by hand on a TCP socket, for what a WebSocket
 * library will not send: frame headers announcing huge payloads, half-sent
 * frames, invalid UTF-8 in text frames, any Origin header.
 */
export class RawWebSocket {
  /** Bytes received after the handshake response. */
  received: Buffer;
  closed = false;
  readonly closing: Promise<void>;

  private constructor(
    readonly socket: Socket,
    /** HTTP status of the handshake response (101 when upgraded). */
    readonly status: number,
    rest: Buffer,
  ) {
    this.received = rest;
    socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    socket.on('error', () => undefined);
    this.closing = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  /** Opens a TCP connection to 127.0.0.1:`port` and sends an upgrade request for `path`. */
  static open(port: number, headers: Record<string, string> = {}, path = '/ws'): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra.join('')}\r\n`,
        );
        let head = Buffer.alloc(0);
        const onData = (chunk: Buffer) => {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          socket.off('data', onData);
          socket.off('error', reject);
          const status = Number(head.subarray(0, end).toString('latin1').split(' ')[1]);
          resolve(new RawWebSocket(socket, status, head.subarray(end + 4)));
        };
        socket.on('data', onData);
      });
    });
  }

  write(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }

  /** The close code of a close frame received, if any. */
  closeCode(): number | undefined {
    for (let at = 0; at + 2 <= this.received.length; ) {
      const opcode = this.received[at]! & 0x0f;
      let length = this.received[at + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        length = this.received.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        length = Number(this.received.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (opcode === 0x8 && length >= 2) return this.received.readUInt16BE(at + header);
      at += header + length;
    }
    return undefined;
  }
}

export const OPCODE = { text: 0x1, binary: 0x2, ping: 0x9 } as const;

/** A client frame header (masked with a zero key, so payload bytes go as they are) for `length` payload bytes. */
export function frameHeader(length: number, opcode: number = OPCODE.binary, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([first, 0x80 | length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, Buffer.alloc(4)]);
}

/** A whole client frame. */
export function frame(payload: Buffer, opcode: number = OPCODE.binary): Buffer {
  return Buffer.concat([frameHeader(payload.length, opcode), payload]);
}
