import pino, { type Logger } from 'pino';

/** The node's root logger: JSON lines on stdout. Child loggers add room, participant and worker. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { component: 'shoal' } });
}
