/**
 * A token bucket: `capacity` tokens to begin with, refilled continuously at
 * `ratePerSecond` up to `capacity`. Each accepted event takes one token, so
 * the sustained rate is `ratePerSecond` and a burst of `capacity` passes
 * after a quiet spell. Pure: the caller passes the time.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    nowMs: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = nowMs;
  }

  /** Takes a token at `nowMs`; false (and nothing taken) when there is none. */
  take(nowMs: number): boolean {
    const elapsed = nowMs - this.updatedAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
      this.updatedAt = nowMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
