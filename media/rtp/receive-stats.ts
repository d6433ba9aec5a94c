import { seqDelta, sequenceNumber } from './rtp-packet.js';

/**
 * Counts what arrives on one stream: packets, bytes, and loss from gaps in the
 * extended sequence number (RFC 3550 appendix A.3), per reporting interval.
 */
export class ReceiveStats {
  packets = 0;
  bytes = 0;
  private highestSeq = -1;
  private cycles = 0;
  private intervalStartExtended = -1;
  private intervalReceived = 0;

  onPacket(packet: Uint8Array): void {
    this.packets++;
    this.bytes += packet.length;
    this.intervalReceived++;
    const seq = sequenceNumber(packet);
    if (this.highestSeq < 0) {
      this.highestSeq = seq;
      this.intervalStartExtended = seq - 1;
      return;
    }
    const delta = seqDelta(this.highestSeq, seq);
    if (delta > 0) {
      if (seq < this.highestSeq) this.cycles += 0x10000;
      this.highestSeq = seq;
    }
  }

  /** Packets expected and lost since the previous call. */
  takeInterval(): { expected: number; lost: number } {
    if (this.highestSeq < 0) return { expected: 0, lost: 0 };
    const extended = this.cycles + this.highestSeq;
    const expected = extended - this.intervalStartExtended;
    const lost = Math.max(0, expected - this.intervalReceived);
    this.intervalStartExtended = extended;
    this.intervalReceived = 0;
    return { expected, lost };
  }
}
