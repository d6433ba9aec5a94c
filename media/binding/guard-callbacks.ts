/**
 * An exception thrown by a JavaScript callback that node-datachannel calls
 * (onMessage, onStateChange, ...) becomes a C++ exception nothing catches:
 * std::terminate, and the whole process is gone. Every callback handed to the
 * binding is therefore wrapped with `guarded`, which catches and reports.
 * (The binding's methods are read-only, so they cannot be wrapped once for all.)
 * Timers of a media worker are wrapped too: an exception thrown by one is an
 * uncaught exception, which ends the worker and every connection on it.
 */
let report: (error: unknown) => void = () => undefined;

/** Where caught callback failures go (the worker's logger, a test client's list). */
export function onCallbackError(handler: (error: unknown) => void): void {
  report = handler;
}

export function guarded<A extends unknown[]>(callback: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      callback(...args);
    } catch (error) {
      report(error);
    }
  };
}
