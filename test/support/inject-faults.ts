/**
 * Preloaded into a `shoal serve` process by a test (node --import): on
 * SIGUSR2 it makes the main thread fail outside any request, the three ways
 * that reach the process: an exception thrown by an event listener, one thrown
 * by a timer, and a promise rejection nobody handles.
 */
process.on('SIGUSR2', () => {
  setTimeout(() => {
    throw new Error('injected: thrown in a timer');
  }, 10);
  void Promise.reject(new Error('injected: rejected and never handled'));
  throw new Error('injected: thrown in a listener');
});
