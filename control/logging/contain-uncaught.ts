import type { Logger } from 'pino';
import { RateLimitedLog } from './rate-limited-log.js';

/**
 * The main thread's last line of defence: an exception nothing caught (in a
 * listener, a timer) or a rejected promise nobody awaited is logged with its
 * origin and stack, and the node keeps serving. Without this Node exits, and a
 * process that exits while media workers hold the native binding aborts
 * (exit 134) instead of draining. Errors are expected to be handled where they
 * happen; this only keeps one missed case from ending every session of the node.
 * Returns a function that removes the handlers.
 */
export function containUncaughtErrors(log: Logger): () => void {
  const limited = new RateLimitedLog(log);
  const onException = (error: Error, origin: string) => {
    limited.error(`uncaught:${origin}`, { err: error, origin }, 'uncaught exception contained; the node keeps running');
  };
  const onRejection = (reason: unknown) => {
    limited.error('unhandled-rejection', { err: reason, origin: 'unhandledRejection' }, 'unhandled promise rejection contained; the node keeps running');
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
    limited.flush();
  };
}
