/**
 * The bitrate this SFU tells a publisher it may send (carried in REMB).
 * Loss based, after the loss controller of draft-ietf-rmcat-gcc-02 section 6:
 * above 10% loss the estimate drops by half the loss rate, under 2% it grows
 * by 8% per interval, between the two it holds. It never leaves [min, max].
 */
export class PublisherBitrateEstimator {
  private estimate: number;

  constructor(
    private readonly minBitrate: number,
    private readonly maxBitrate: number,
  ) {
    if (minBitrate <= 0 || maxBitrate < minBitrate) throw new Error('need 0 < minBitrate <= maxBitrate');
    this.estimate = maxBitrate;
  }

  get bitrate(): number {
    return this.estimate;
  }

  /** Feeds one interval's loss; returns the new estimate. */
  update(expected: number, lost: number): number {
    if (expected <= 0) return this.estimate;
    const loss = lost / expected;
    if (loss > 0.1) this.estimate *= 1 - 0.5 * loss;
    else if (loss < 0.02) this.estimate *= 1.08;
    this.estimate = Math.min(this.maxBitrate, Math.max(this.minBitrate, this.estimate));
    return this.estimate;
  }
}
