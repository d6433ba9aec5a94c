import { sequenceNumber } from './rtp-packet.js';

/**
 * The last packets of one stream by sequence number, for answering NACKs
 * (RFC 4585). A ring indexed by the low bits of the sequence number; a slot
 * is only returned when its full sequence number matches.
 */
export class PacketHistory {
  private readonly packets: Array<Uint8Array | undefined>;
  private readonly seqs: Int32Array;
  private readonly mask: number;

  constructor(capacity = 1024) {
    if (capacity <= 0 || (capacity & (capacity - 1)) !== 0) throw new Error('capacity must be a power of two');
    this.packets = new Array<Uint8Array | undefined>(capacity);
    this.seqs = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
  }

  /** Keeps a reference to `packet` (not a copy): callers must not reuse it. */
  store(packet: Uint8Array): void {
    const seq = sequenceNumber(packet);
    const slot = seq & this.mask;
    this.packets[slot] = packet;
    this.seqs[slot] = seq;
  }

  get(seq: number): Uint8Array | undefined {
    const slot = seq & this.mask;
    return this.seqs[slot] === seq ? this.packets[slot] : undefined;
  }

  clear(): void {
    this.packets.fill(undefined);
    this.seqs.fill(-1);
  }
}
