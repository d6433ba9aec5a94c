import { sequenceNumber } from './rtp-packet.js';

/** Bytes a copying history's slot holds before it needs a larger buffer: a packet of a 1500-byte MTU. */
const SLOT_BYTES = 1500;

/**
 * The last packets of one stream by sequence number, for answering NACKs
 * (RFC 4585). A ring indexed by the low bits of the sequence number; a slot
 * is only returned when its full sequence number matches.
 *
 * By default it keeps a reference to each packet. With `copy` it copies each
 * packet into a buffer of its slot (allocated once, reused): for packets that
 * are views into a larger buffer (a batch from the media bus), which a
 * reference would keep alive whole.
 */
export class PacketHistory {
  private readonly packets: Array<Uint8Array | undefined>;
  private readonly seqs: Int32Array;
  private readonly lengths: Int32Array | undefined;
  private readonly mask: number;

  constructor(capacity = 1024, { copy = false }: { copy?: boolean } = {}) {
    if (capacity <= 0 || (capacity & (capacity - 1)) !== 0) throw new Error('capacity must be a power of two');
    this.packets = new Array<Uint8Array | undefined>(capacity);
    this.seqs = new Int32Array(capacity).fill(-1);
    this.lengths = copy ? new Int32Array(capacity) : undefined;
    this.mask = capacity - 1;
  }

  /** Keeps `packet`: a reference (callers must not reuse it), or a copy. */
  store(packet: Uint8Array): void {
    const seq = sequenceNumber(packet);
    const slot = seq & this.mask;
    this.seqs[slot] = seq;
    if (!this.lengths) {
      this.packets[slot] = packet;
      return;
    }
    let buffer = this.packets[slot];
    if (!buffer || buffer.length < packet.length) this.packets[slot] = buffer = Buffer.allocUnsafeSlow(Math.max(SLOT_BYTES, packet.length));
    buffer.set(packet);
    this.lengths[slot] = packet.length;
  }

  get(seq: number): Uint8Array | undefined {
    const slot = seq & this.mask;
    if (this.seqs[slot] !== seq) return undefined;
    const packet = this.packets[slot];
    return this.lengths ? packet!.subarray(0, this.lengths[slot]) : packet;
  }

  clear(): void {
    this.packets.fill(undefined);
    this.seqs.fill(-1);
  }
}
