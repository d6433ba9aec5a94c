/**
 * Remembers when each sequence number was last acted on (sent again, asked
 * for), so that it is not acted on again within a window: a receiver asks
 * again only after a round trip. A ring of `slots` entries (a power of two)
 * indexed by the low bits of the sequence number; allocation-free.
 */
export class RepeatWindow {
  private readonly seqs: Int32Array;
  private readonly at: Float64Array;
  private readonly mask: number;

  constructor(
    slots: number,
    private readonly windowMs: number,
  ) {
    if (slots <= 0 || (slots & (slots - 1)) !== 0) throw new Error('slots must be a power of two');
    this.seqs = new Int32Array(slots).fill(-1);
    this.at = new Float64Array(slots);
    this.mask = slots - 1;
  }

  /** Whether `seq` was marked less than the window before `now`. */
  isRepeat(seq: number, now: number): boolean {
    const slot = seq & this.mask;
    return this.seqs[slot] === seq && now - this.at[slot]! < this.windowMs;
  }

  mark(seq: number, now: number): void {
    const slot = seq & this.mask;
    this.seqs[slot] = seq;
    this.at[slot] = now;
  }
}
