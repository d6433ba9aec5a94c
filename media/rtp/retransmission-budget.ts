import { RepeatWindow } from './repeat-window.js';

/**
 * How much one subscriber's NACKs may make the SFU send again (RFC 4585
 * generic NACK answered from the packet history). A NACK costs the client a
 * few bytes of RTCP and the worker an SRTP encryption and a send per packet
 * it names: unbounded, one subscriber could keep a worker busy for everyone
 * on it. So retransmissions are paid from a credit that grows with what the
 * subscriber is sent (a `share` of those bytes) up to a `burstBytes` ceiling,
 * and a sequence number retransmitted less than `repeatWindowMs` ago is not
 * sent again: an honest receiver asks again only after a round trip.
 * Allocation-free: `onSent` runs for every forwarded packet.
 */
export interface RetransmissionBudgetOptions {
  /** Retransmitted bytes allowed per byte sent (0.25: at most a quarter more). */
  share: number;
  /** Credit ceiling, bytes (also the credit a new subscriber starts with): what a burst of losses may take at once. */
  burstBytes: number;
  /**
   * A sequence number is sent again at most once in this time, ms. No RTT
   * estimate exists (the SFU sends no sender reports), so it is fixed and
   * conservative: longer than most round trips a retransmission can still help in.
   */
  repeatWindowMs: number;
  /** Sequence numbers remembered for the repeat check (a power of two; the packet history's size). */
  slots: number;
}

export const DEFAULT_RETRANSMISSION_BUDGET: Omit<RetransmissionBudgetOptions, 'slots'> = {
  share: 0.25,
  burstBytes: 64 * 1024,
  repeatWindowMs: 100,
};

export class RetransmissionBudget {
  private credit: number;
  private readonly sent: RepeatWindow;

  constructor(private readonly options: RetransmissionBudgetOptions) {
    this.credit = options.burstBytes;
    this.sent = new RepeatWindow(options.slots, options.repeatWindowMs);
  }

  /** Counts `bytes` of media sent to the subscriber towards the credit. */
  onSent(bytes: number): void {
    this.credit = Math.min(this.options.burstBytes, this.credit + bytes * this.options.share);
  }

  /** Whether the credit is used up: a NACK's remaining sequence numbers need not be looked at. */
  get exhausted(): boolean {
    return this.credit <= 0;
  }

  /** Whether `seq` was retransmitted less than the repeat window before `now`. */
  isRepeat(seq: number, now: number): boolean {
    return this.sent.isRepeat(seq, now);
  }

  /**
   * Charges a retransmission of `seq` (`bytes` long) at `now`; false, and
   * nothing charged, when it is a repeat or the credit does not cover it.
   */
  take(seq: number, bytes: number, now: number): boolean {
    if (this.isRepeat(seq, now) || bytes > this.credit) return false;
    this.credit -= bytes;
    this.sent.mark(seq, now);
    return true;
  }
}
