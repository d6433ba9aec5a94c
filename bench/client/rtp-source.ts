/**
 * Synthetic RTP for test and benchmark publishers: correct headers, and a
 * probe at the start of every payload (magic, per-stream counter, send time)
 * so a receiver measures loss and one-way latency exactly.
 */

export const PROBE_MAGIC = 0x53484f4c; // "SHOL"
export const PROBE_SIZE = 16;

export class RtpSource {
  private seq = Math.floor(Math.random() * 0x10000);
  private ts = Math.floor(Math.random() * 0x100000000);
  private counter = 0;

  constructor(
    public ssrc: number,
    readonly payloadType: number,
    readonly clockRate: number,
  ) {}

  /** The next packet: `payloadSize` bytes (at least the probe), timestamp advanced by `tsStep` first. */
  next(payloadSize: number, options: { marker?: boolean; tsStep?: number } = {}): Buffer {
    this.ts = (this.ts + (options.tsStep ?? 0)) >>> 0;
    const packet = Buffer.alloc(12 + Math.max(PROBE_SIZE, payloadSize));
    packet[0] = 0x80;
    packet[1] = (options.marker ? 0x80 : 0) | this.payloadType;
    packet.writeUInt16BE(this.seq, 2);
    packet.writeUInt32BE(this.ts, 4);
    packet.writeUInt32BE(this.ssrc >>> 0, 8);
    packet.writeUInt32BE(PROBE_MAGIC, 12);
    packet.writeUInt32BE(this.counter, 16);
    packet.writeDoubleBE(performance.timeOrigin + performance.now(), 20);
    this.seq = (this.seq + 1) & 0xffff;
    this.counter = (this.counter + 1) >>> 0;
    return packet;
  }
}

export interface Probe {
  counter: number;
  /** Send time, ms since the epoch (same clock on one machine). */
  sentAtMs: number;
}

/** Reads the probe of a packet made by RtpSource, or undefined for anything else. */
export function readProbe(packet: Uint8Array): Probe | undefined {
  const cc = packet[0]! & 0x0f;
  let offset = 12 + 4 * cc;
  if (packet[0]! & 0x10) offset += 4 + 4 * ((packet[offset + 2]! << 8) | packet[offset + 3]!);
  if (packet.length < offset + PROBE_SIZE) return undefined;
  const view = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (view.readUInt32BE(offset) !== PROBE_MAGIC) return undefined;
  return { counter: view.readUInt32BE(offset + 4), sentAtMs: view.readDoubleBE(offset + 8) };
}
