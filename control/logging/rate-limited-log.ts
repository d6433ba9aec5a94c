import type { Logger } from 'pino';

export interface RateLimitOptions {
  /** Length of one window, ms. */
  intervalMs: number;
  /** Lines written per key and window; the rest are counted. */
  burst: number;
}

const DEFAULTS: RateLimitOptions = { intervalMs: 10_000, burst: 5 };
/** Distinct keys tracked at once; a flood of new keys shares one overflow key. */
const MAX_KEYS = 256;
const OVERFLOW_KEY = '(other)';

interface Window {
  key: string;
  startedAt: number;
  written: number;
  suppressed: number;
  /** Level, bindings and message of the last suppressed line, for the summary. */
  last?: { level: 'warn' | 'error'; bindings: object; message: string };
  timer?: NodeJS.Timeout;
}

/**
 * Log lines that clients can cause (bad candidates, refused offers, slow
 * readers) at most `burst` per key and window. What is held back is counted
 * and reported in one summary line when the window ends, so a storm costs a
 * handful of lines, not one per bad frame. Keys name the kind of event (a
 * call site, a libdatachannel message prefix), not the client.
 */
export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();
  private readonly options: RateLimitOptions;

  constructor(
    private readonly log: Logger,
    options: Partial<RateLimitOptions> = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  warn(key: string, bindings: object, message: string): void {
    this.write('warn', key, bindings, message);
  }

  error(key: string, bindings: object, message: string): void {
    this.write('error', key, bindings, message);
  }

  /** Writes the pending summaries and forgets every window (on shutdown). */
  flush(): void {
    for (const window of this.windows.values()) this.summarize(window);
    this.windows.clear();
  }

  private write(level: 'warn' | 'error', key: string, bindings: object, message: string): void {
    const window = this.window(key);
    if (window.written < this.options.burst) {
      window.written++;
      this.log[level](bindings, message);
      return;
    }
    window.suppressed++;
    window.last = { level, bindings, message };
    // One timer per window with suppressed lines: the summary comes even if the storm stops.
    window.timer ??= setTimeout(() => {
      this.summarize(window);
      if (this.windows.get(window.key) === window) this.windows.delete(window.key);
    }, Math.max(0, window.startedAt + this.options.intervalMs - this.now())).unref();
  }

  private window(key: string): Window {
    const now = this.now();
    let window = this.windows.get(key);
    if (window && now - window.startedAt >= this.options.intervalMs) {
      this.summarize(window);
      this.windows.delete(key);
      window = undefined;
    }
    if (!window) {
      if (this.windows.size >= MAX_KEYS && key !== OVERFLOW_KEY) return this.window(OVERFLOW_KEY);
      window = { key, startedAt: now, written: 0, suppressed: 0 };
      this.windows.set(key, window);
    }
    return window;
  }

  private summarize(window: Window): void {
    clearTimeout(window.timer);
    window.timer = undefined;
    if (window.suppressed === 0 || !window.last) return;
    const { level, bindings, message } = window.last;
    this.log[level]({ ...bindings, suppressed: window.suppressed, windowMs: this.options.intervalMs }, `${message} (and ${window.suppressed} more like it)`);
    window.suppressed = 0;
  }
}
