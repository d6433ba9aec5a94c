import type { Probe } from './rtp-source.js';

/** One-way latency histogram: 0.1 ms buckets up to 10 s; what is later lands in the last bucket. */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.1;
  static readonly BUCKETS = 100_000;
  private buckets = new Uint32Array(LatencyHistogram.BUCKETS);
  count = 0;
  maxMs = 0;

  add(ms: number): void {
    const index = Math.min(LatencyHistogram.BUCKETS - 1, Math.max(0, Math.floor(ms / LatencyHistogram.BUCKET_MS)));
    this.buckets[index]!++;
    this.count++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Non-empty buckets as [index, count] pairs (compact, to send between processes). */
  sparse(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.buckets.forEach((count, index) => count > 0 && out.push([index, count]));
    return out;
  }

  merge(sparse: Array<[number, number]>, maxMs: number): void {
    for (const [index, count] of sparse) {
      this.buckets[index]! += count;
      this.count += count;
    }
    this.maxMs = Math.max(this.maxMs, maxMs);
  }

  /** The latency below which `p` percent of samples fall, ms. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return (i + 1) * LatencyHistogram.BUCKET_MS;
    }
    return this.maxMs;
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
    this.maxMs = 0;
  }
}

/** How many recent counters are remembered to recognise a second copy (a retransmission that raced the original). */
const DUPLICATE_WINDOW = 4096;

/**
 * What one received stream delivered, from the probes of its packets: which
 * per-stream counters arrived (loss), one-way latency, and interarrival jitter
 * (the RFC 3550 estimator applied to send and arrival times).
 */
export class StreamReceiver {
  /** Counter last seen in each slot (counter mod the window): a fixed size, however long the run. */
  private readonly recent = new Float64Array(DUPLICATE_WINDOW).fill(-1);
  private count = 0;
  private min = Infinity;
  private max = -Infinity;
  private lastTransitMs: number | undefined;
  private jitterMs = 0;
  jitterSumMs = 0;
  jitterSamples = 0;

  constructor(private readonly latency: LatencyHistogram) {}

  onProbe(probe: Probe, arrivalMs: number): void {
    const slot = probe.counter % DUPLICATE_WINDOW;
    if (this.recent[slot] === probe.counter) return;
    this.recent[slot] = probe.counter;
    this.count++;
    if (probe.counter < this.min) this.min = probe.counter;
    if (probe.counter > this.max) this.max = probe.counter;
    const transit = arrivalMs - probe.sentAtMs;
    this.latency.add(transit);
    if (this.lastTransitMs !== undefined) {
      this.jitterMs += (Math.abs(transit - this.lastTransitMs) - this.jitterMs) / 16;
      this.jitterSumMs += this.jitterMs;
      this.jitterSamples++;
    }
    this.lastTransitMs = transit;
  }

  /** Counters from the first to the last seen since the last reset. */
  get expected(): number {
    return this.max >= this.min ? this.max - this.min + 1 : 0;
  }

  get received(): number {
    return this.count;
  }

  reset(): void {
    this.recent.fill(-1);
    this.count = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.jitterSumMs = 0;
    this.jitterSamples = 0;
  }
}
