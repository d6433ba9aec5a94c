/**
 * Coalesces keyframe requests for one track: the first request goes out at
 * once, later ones within `minIntervalMs` collapse into a single request sent
 * when the interval ends. A publisher sees at most one PLI per interval however
 * many subscribers ask.
 */
export class KeyframeThrottle {
  private lastSentAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly send: () => void,
    private readonly minIntervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  request(): void {
    if (this.closed || this.timer) return;
    const wait = this.lastSentAt + this.minIntervalMs - this.now();
    if (wait <= 0) {
      this.fire();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, wait);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    if (this.closed) return;
    this.lastSentAt = this.now();
    this.send();
  }
}
