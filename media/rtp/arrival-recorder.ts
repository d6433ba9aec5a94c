import { NOT_RECEIVED, TransportCcWriter } from './transport-cc.js';
import { seqDelta } from './rtp-packet.js';

/** Sequence numbers remembered: 8192 is 27 s of a 3 Mbit/s stream of 1200-byte packets, 2.7 s at 3000 packets/s. */
const DEFAULT_WINDOW = 8192;
/** Feedback packets one `flush` writes at most; statuses left over wait for the next one. */
const MAX_PACKETS_PER_FLUSH = 8;
/** A late packet makes the next feedback go back to it (report it received) when at most this far behind what was reported. */
const MAX_REWIND = 1024;
const SEQ_SPACE = 0x10000;

/**
 * The arrival times of one connection's RTP packets by transport-wide
 * sequence number (one sequence space across all the connection's m-lines),
 * turned into transport-cc feedback packets by `flush`.
 *
 * Sequence numbers are unwrapped into an ever-growing number whose low 16
 * bits are the wire value, and kept in a ring of `window` slots: recording a
 * packet is a few array writes (no allocation). Each flush reports every
 * sequence number from the first not yet reported up to the highest received,
 * split into several feedback packets when one would be too large or a delta
 * too long. A packet that arrives after its number was reported missing makes
 * the next feedback start again from it (as libwebrtc's receiver does), if it
 * is not too far back. A jump of a whole window or more, forward or back,
 * starts over from that packet: what lies between is never reported.
 */
export class ArrivalRecorder {
  private readonly arrivals: Float64Array;
  /** The unwrapped sequence number each slot holds (-1: none yet). */
  private readonly slots: Float64Array;
  private readonly mask: number;
  private readonly writer = new TransportCcWriter();
  /** Highest unwrapped sequence number received; -1 before the first packet. */
  private highest = -1;
  private nextToReport = 0;
  private feedbackCount = 0;

  constructor(private readonly window = DEFAULT_WINDOW) {
    if (window < 16 || window > SEQ_SPACE / 2 || (window & (window - 1)) !== 0) throw new Error('the window must be a power of two, 16 to 32768');
    this.mask = window - 1;
    this.arrivals = new Float64Array(window);
    this.slots = new Float64Array(window).fill(-1);
  }

  /** Notes that the packet with transport-wide sequence number `sequence` (16 bits) arrived at `arrivalUs`. */
  record(sequence: number, arrivalUs: number): void {
    if (sequence < 0 || sequence > 0xffff) return;
    let unwrapped: number;
    if (this.highest < 0) {
      unwrapped = SEQ_SPACE + sequence;
      this.highest = this.nextToReport = unwrapped;
    } else {
      const delta = seqDelta(this.highest % SEQ_SPACE, sequence);
      unwrapped = this.highest + delta;
      if (delta >= this.window || -delta >= this.window) {
        unwrapped = this.startOver(sequence);
      } else if (delta > 0) {
        this.highest = unwrapped;
        // The oldest unreported numbers are about to be overwritten: they go unreported.
        if (unwrapped - this.nextToReport >= this.window) this.nextToReport = unwrapped - this.window + 1;
      } else if (unwrapped < this.nextToReport) {
        if (this.nextToReport - unwrapped > MAX_REWIND) return;
        this.nextToReport = unwrapped;
      }
    }
    const slot = unwrapped & this.mask;
    this.slots[slot] = unwrapped;
    this.arrivals[slot] = arrivalUs;
  }

  /**
   * Writes the feedback for everything received since the last flush (or,
   * when there is more than `MAX_PACKETS_PER_FLUSH` packets' worth, the oldest
   * part of it) and passes each packet to `send`.
   */
  flush(senderSsrc: number, mediaSsrc: number, send: (packet: Buffer) => void): void {
    if (this.highest < 0 || this.nextToReport > this.highest) return;
    const writer = this.writer;
    let written = 0;
    writer.begin(this.nextToReport % SEQ_SPACE);
    for (let seq = this.nextToReport; seq <= this.highest; seq++) {
      const slot = seq & this.mask;
      const arrival = this.slots[slot] === seq ? this.arrivals[slot]! : NOT_RECEIVED;
      if (writer.add(arrival)) continue;
      send(writer.finish(senderSsrc, mediaSsrc, this.feedbackCount++));
      this.nextToReport = seq;
      if (++written === MAX_PACKETS_PER_FLUSH) return;
      writer.begin(seq % SEQ_SPACE);
      writer.add(arrival);
    }
    send(writer.finish(senderSsrc, mediaSsrc, this.feedbackCount++));
    this.nextToReport = this.highest + 1;
  }

  /**
   * Restarts the sequence space at `sequence`, unwrapped beyond anything held
   * so far so that no slot can be mistaken for one of the new numbers.
   */
  private startOver(sequence: number): number {
    let base = (Math.floor(this.highest / SEQ_SPACE) + 2) * SEQ_SPACE;
    if (base > Number.MAX_SAFE_INTEGER / 2) {
      this.slots.fill(-1);
      base = SEQ_SPACE;
    }
    this.highest = this.nextToReport = base + sequence;
    return this.highest;
  }
}
