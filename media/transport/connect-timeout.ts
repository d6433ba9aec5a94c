import { guarded } from '../binding/guard-callbacks.js';

/**
 * Fails a connection that does not come up in time. The clock starts when
 * the client has engaged (its offer or answer was applied: a client that
 * never answers its subscriber offer is a signaling-only client, not a stuck
 * connection) and stops at the first 'connected'. Without it, a client that
 * answers but never sends ICE or DTLS leaves the connection "connecting" for
 * ever, holding its libdatachannel state.
 */
export class ConnectTimeout {
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: () => void,
  ) {}

  /** Starts the clock (once). */
  start(): void {
    if (this.done || this.timer) return;
    this.timer = setTimeout(
      guarded(() => {
        this.timer = undefined;
        this.done = true;
        this.onTimeout();
      }),
      this.timeoutMs,
    );
  }

  /** The connection came up (or closed): the clock stops for good. */
  stop(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
