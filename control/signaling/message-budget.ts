import { TokenBucket } from './token-bucket.js';

/** Only one dropped message per this interval is answered (RATE_LIMITED); the others are dropped silently. */
const TELL_INTERVAL_MS = 1000;
/** Dropped messages are counted in windows this long; over twice the rate in one window disconnects. */
export const DROP_WINDOW_MS = 10_000;

/**
 * - accept: handle the message;
 * - drop: drop it silently;
 * - drop-and-tell: drop it and tell the client (RATE_LIMITED);
 * - disconnect: the client keeps sending over its rate: close its socket.
 */
export type BudgetVerdict = 'accept' | 'drop' | 'drop-and-tell' | 'disconnect';

/**
 * One client's message budget: `ratePerSecond` sustained, bursts of twice
 * that (a token bucket). Over it, messages are dropped and the client is told
 * at most once a second (telling it every time would make a flood cost the
 * server a reply per message). A client with more than a burst's worth of
 * dropped messages in one 10-second window is flooding and is disconnected.
 */
export class MessageBudget {
  private readonly bucket: TokenBucket;
  private readonly disconnectAfterDrops: number;
  private drops = 0;
  private windowStartedAt = -Infinity;
  private toldAt = -Infinity;

  constructor(
    readonly ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bucket = new TokenBucket(ratePerSecond, 2 * ratePerSecond, now());
    this.disconnectAfterDrops = 2 * ratePerSecond;
  }

  /** Charges one message to the budget. */
  charge(): BudgetVerdict {
    const now = this.now();
    if (this.bucket.take(now)) return 'accept';
    if (now - this.windowStartedAt >= DROP_WINDOW_MS) {
      this.windowStartedAt = now;
      this.drops = 0;
    }
    this.drops++;
    if (this.drops > this.disconnectAfterDrops) return 'disconnect';
    if (now - this.toldAt < TELL_INTERVAL_MS) return 'drop';
    this.toldAt = now;
    return 'drop-and-tell';
  }
}
