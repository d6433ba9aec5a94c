/**
 * A wait for something libdatachannel reports through a callback (an answer,
 * the tracks of an offer), bounded by a deadline. Its timer is always cleared
 * when the wait ends for another reason (`cancel`), and its promise never
 * counts as an unhandled rejection: in a worker thread an unhandled rejection
 * is an uncaught exception, which ends the worker and every connection on it.
 */
export interface Deadline<T> {
  readonly promise: Promise<T>;
  /** Ends the wait: its timer is cleared; with `reason`, whoever awaits the promise gets that rejection. */
  cancel(reason?: Error): void;
}

export function withDeadline<T>(arm: (resolve: (value: T) => void) => void, timeoutMs: number, what: string): Deadline<T> {
  let settle: { resolve: (value: T) => void; reject: (error: Error) => void } | undefined;
  const promise = new Promise<T>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // Awaited or not, a rejection of this promise is handled here.
  promise.catch(() => undefined);
  const timer = setTimeout(() => finish(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
  const finish = (error: Error | undefined, value?: T) => {
    if (!settle) return;
    clearTimeout(timer);
    const { resolve, reject } = settle;
    settle = undefined;
    if (error) reject(error);
    else resolve(value as T);
  };
  arm((value) => finish(undefined, value));
  return {
    promise,
    cancel: (reason) => {
      if (!reason) {
        clearTimeout(timer);
        settle = undefined;
        return;
      }
      finish(reason);
    },
  };
}
