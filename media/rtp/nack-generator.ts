import { seqDelta } from './rtp-packet.js';

/** How a receiver asks again for the packets it lacks, and when it stops asking. */
export interface NackPolicy {
  /**
   * Sequence numbers waited for at once; beyond, the oldest are given up. A
   * packet this many ahead of the highest one seen starts the stream anew
   * (nothing is asked for): an outage that long is repaired by a keyframe.
   */
  maxMissing: number;
  /** A packet this many behind the highest one seen starts the stream anew too (a sender that restarted its numbers). */
  maxBehind: number;
  /** NACKs per sequence number at most. */
  maxNacks: number;
  /** A packet missing this long is given up, ms. */
  maxWaitMs: number;
  /** Bounds of the interval between two NACKs of one sequence number (the round trip measured, within them), ms. */
  minRetryMs: number;
  maxRetryMs: number;
  /** The round trip assumed before one is measured, ms. */
  initialRttMs: number;
}

export const DEFAULT_NACK_POLICY: NackPolicy = {
  maxMissing: 256,
  maxBehind: 2048,
  maxNacks: 10,
  maxWaitMs: 1000,
  minRetryMs: 20,
  maxRetryMs: 250,
  initialRttMs: 100,
};

interface Missing {
  /** When the gap was seen, ms. */
  since: number;
  /** When the last NACK named it, ms. */
  sentAt: number;
  nacks: number;
}

/**
 * Gap detection on one received RTP stream, for generic NACKs (RFC 4585
 * 6.2.1): which sequence numbers are missing, and which are due to be asked
 * for now. Sequence numbers are compared in 16-bit serial arithmetic, so
 * wrap-around and reordering need nothing special. A missing packet is asked
 * for at once, then again every round trip (measured from the NACKs that
 * were answered) up to `maxNacks` times, and given up after `maxWaitMs`.
 * Bounded: at most `maxMissing` sequence numbers are remembered, and a jump
 * further than that (a hostile or restarted sender) starts afresh.
 */
export class NackGenerator {
  /** Missing sequence numbers, oldest first (gaps are only ever added above the highest). */
  private readonly missing = new Map<number, Missing>();
  private highest = -1;
  private rtt: number;
  private measured = false;
  /** Sequence numbers asked for at least once, since the start. */
  nacked = 0;
  /** Missing packets that arrived, since the start. */
  recovered = 0;
  /** Missing packets no longer waited for (too old, asked for too often, or beyond `maxMissing`), since the start. */
  givenUp = 0;

  constructor(private readonly policy: NackPolicy = DEFAULT_NACK_POLICY) {
    this.rtt = policy.initialRttMs;
  }

  /** Sequence numbers waited for now. */
  get missingCount(): number {
    return this.missing.size;
  }

  /** The round trip of a NACK and its answer, as measured (smoothed), ms. */
  get rttMs(): number {
    return this.rtt;
  }

  /**
   * A packet of the stream arrived (in order, late, or again). Returns true
   * when it was one missing: a retransmission or a late packet that filled a gap.
   */
  onPacket(seq: number, now: number): boolean {
    if (this.highest < 0) {
      this.highest = seq;
      return false;
    }
    const delta = seqDelta(this.highest, seq);
    if (delta > 0) {
      if (delta > this.policy.maxMissing) {
        this.restart(seq);
        return false;
      }
      for (let i = 1; i < delta; i++) this.missing.set((this.highest + i) & 0xffff, { since: now, sentAt: 0, nacks: 0 });
      this.highest = seq;
      this.trim();
      return false;
    }
    if (delta < -this.policy.maxBehind) {
      this.restart(seq);
      return false;
    }
    return this.recover(seq, now);
  }

  /**
   * A packet sent again (RTX) arrived. Returns true when it was missing; false
   * for a packet that came already, was given up, or was never sent (probing).
   */
  recover(seq: number, now: number): boolean {
    const entry = this.missing.get(seq);
    if (!entry) return false;
    this.missing.delete(seq);
    this.recovered++;
    // Answered after one NACK: the time since is one round trip (and the sender's reaction).
    if (entry.nacks === 1) this.sampleRtt(now - entry.sentAt);
    return true;
  }

  /**
   * Appends to `out` the sequence numbers to ask for now (oldest first), and
   * forgets those given up.
   */
  collect(now: number, out: number[]): void {
    const { maxNacks, maxWaitMs } = this.policy;
    const retry = this.retryIntervalMs;
    for (const [seq, entry] of this.missing) {
      const due = entry.nacks === 0 || now - entry.sentAt >= retry;
      if (now - entry.since >= maxWaitMs || (due && entry.nacks >= maxNacks)) {
        this.missing.delete(seq);
        this.givenUp++;
        continue;
      }
      if (!due) continue;
      if (entry.nacks === 0) this.nacked++;
      entry.nacks++;
      entry.sentAt = now;
      out.push(seq);
    }
  }

  /** The stream starts anew (another SSRC, a restarted sender): nothing is waited for. */
  reset(): void {
    this.givenUp += this.missing.size;
    this.missing.clear();
    this.highest = -1;
  }

  /** The interval between two NACKs of one sequence number, ms. */
  get retryIntervalMs(): number {
    return Math.min(this.policy.maxRetryMs, Math.max(this.policy.minRetryMs, 1.5 * this.rtt));
  }

  private restart(seq: number): void {
    this.reset();
    this.highest = seq;
  }

  /** Only the newest `maxMissing` are waited for. */
  private trim(): void {
    let excess = this.missing.size - this.policy.maxMissing;
    if (excess <= 0) return;
    for (const seq of this.missing.keys()) {
      if (excess-- <= 0) break;
      this.missing.delete(seq);
      this.givenUp++;
    }
  }

  private sampleRtt(sample: number): void {
    const bounded = Math.min(this.policy.maxWaitMs, Math.max(0, sample));
    this.rtt = this.measured ? this.rtt + (bounded - this.rtt) / 8 : bounded;
    this.measured = true;
  }
}
