import { payloadOffset } from '../../media/rtp/rtp-packet.js';

/**
 * Synthetic RTP for test and benchmark publishers: correct headers, and a
 * probe at the start of every payload (magic, per-stream counter, send time,
 * flags) so a receiver measures loss and one-way latency exactly and knows a
 * keyframe when it sees one.
 */

const PROBE_MAGIC = 0x53484f4c; // "SHOL"
const PROBE_SIZE = 17;
const FLAG_KEYFRAME = 1;

export interface PacketOptions {
  marker?: boolean;
  tsStep?: number;
  keyframe?: boolean;
}

export class RtpSource {
  private seq = Math.floor(Math.random() * 0x10000);
  private ts = Math.floor(Math.random() * 0x100000000);
  private counter = 0;

  constructor(
    public ssrc: number,
    readonly payloadType: number,
    readonly clockRate: number,
  ) {}

  /** The timestamp of the last packet made. */
  get timestamp(): number {
    return this.ts;
  }

  /** Packets made so far: the probe counter of the next one. */
  get packetsMade(): number {
    return this.counter;
  }

  /** Leaves out `count` sequence numbers, as if that many packets were lost on the way. */
  skipSequenceNumbers(count: number): void {
    this.seq = (this.seq + count) & 0xffff;
  }

  /** The next packet: `payloadSize` bytes (at least the probe), timestamp advanced by `tsStep` first. */
  next(payloadSize: number, options: PacketOptions = {}): Buffer {
    return this.refill(Buffer.alloc(12 + Math.max(PROBE_SIZE, payloadSize)), options);
  }

  /**
   * Makes `packet` (one this source made, already sent) the next packet, in place: for a sender
   * whose own CPU cost is what is measured (the raw floor), so that it pays for no allocation.
   */
  refill(packet: Buffer, options: PacketOptions = {}): Buffer {
    this.ts = (this.ts + (options.tsStep ?? 0)) >>> 0;
    packet[0] = 0x80;
    packet[1] = (options.marker ? 0x80 : 0) | this.payloadType;
    packet.writeUInt16BE(this.seq, 2);
    packet.writeUInt32BE(this.ts, 4);
    packet.writeUInt32BE(this.ssrc >>> 0, 8);
    packet.writeUInt32BE(PROBE_MAGIC, 12);
    packet.writeUInt32BE(this.counter, 16);
    packet.writeDoubleBE(performance.timeOrigin + performance.now(), 20);
    packet[28] = options.keyframe ? FLAG_KEYFRAME : 0;
    this.seq = (this.seq + 1) & 0xffff;
    this.counter = (this.counter + 1) >>> 0;
    return packet;
  }
}

export interface Probe {
  counter: number;
  /** Send time, ms since the epoch (same clock on one machine). */
  sentAtMs: number;
  keyframe: boolean;
}

/**
 * Reads the probe of a packet made by RtpSource, or undefined for anything
 * else. `rtx`: the packet is an RTX retransmission (RFC 4588), whose payload
 * starts with the original sequence number.
 */
export function readProbe(packet: Uint8Array, rtx = false): Probe | undefined {
  const offset = payloadOffset(packet) + (rtx ? 2 : 0);
  if (packet.length < offset + PROBE_SIZE) return undefined;
  const view = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (view.readUInt32BE(offset) !== PROBE_MAGIC) return undefined;
  return {
    counter: view.readUInt32BE(offset + 4),
    sentAtMs: view.readDoubleBE(offset + 8),
    keyframe: (view[offset + 16]! & FLAG_KEYFRAME) !== 0,
  };
}
