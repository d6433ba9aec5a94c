import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../logging/rate-limited-log.js';

export interface NatsConnectOptions {
  servers: string[];
  /** The client name the servers show (`/connz`): the node id. */
  name: string;
  /** How long start-up keeps trying before it gives up, ms (0: one attempt). */
  connectTimeoutMs: number;
  /** Client PING interval, ms: a server that stopped answering is left after two missed PONGs. */
  pingIntervalMs: number;
  log: Logger;
}

/** Waits between start-up attempts, and between reconnect rounds through the server list (plus jitter), ms. */
const RETRY_WAIT_MS = 1000;
const RECONNECT_WAIT_MS = 250;
const RECONNECT_JITTER_MS = 250;
/** Longest a single start-up attempt may take, ms (nats.js waits 20 s by default). */
const ATTEMPT_TIMEOUT_MS = 5000;

/**
 * Connects to NATS for the life of the node. Start-up retries an unreachable
 * NATS with a log line per attempt naming the URLs, until
 * `connectTimeoutMs`; then it throws an Error naming them. Once connected,
 * the connection reconnects for ever (nats.js gives up after 10 attempts by
 * default, and a closed connection would cut the node off for good).
 * `noEcho`: a node never receives what it publishes itself (JetStream
 * deliveries, KV watches included, come from the server and still arrive).
 */
export async function connectToNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const { servers, log } = options;
  const named = servers.map(redactUrl).join(', ');
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const remaining = options.connectTimeoutMs - (Date.now() - started);
    try {
      const connection = await connect({
        servers,
        name: options.name,
        noEcho: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: RECONNECT_WAIT_MS,
        reconnectJitter: RECONNECT_JITTER_MS,
        pingInterval: options.pingIntervalMs,
        maxPingOut: 2,
        timeout: Math.min(ATTEMPT_TIMEOUT_MS, Math.max(500, remaining)),
      });
      log.info({ servers: servers.map(redactUrl), server: connection.getServer(), attempt }, 'connected to NATS');
      return connection;
    } catch (error) {
      const elapsed = Date.now() - started;
      const reason = (error as Error).message;
      if (elapsed + RETRY_WAIT_MS > options.connectTimeoutMs) {
        throw new Error(`cannot reach NATS at ${named}: ${reason} (${attempt} attempt${attempt === 1 ? '' : 's'} in ${elapsed} ms, --nats-connect-timeout ${options.connectTimeoutMs} ms)`);
      }
      log.warn({ servers: servers.map(redactUrl), attempt, error: reason, elapsedMs: elapsed }, `NATS not reachable at ${named}; retrying for ${options.connectTimeoutMs - elapsed} ms more`);
      await sleep(RETRY_WAIT_MS);
    }
  }
}

/** A URL with its user and password (if any) masked, for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export interface ConnectionEvents {
  /** The connection to the server was lost; nats.js is reconnecting. */
  disconnected: [];
  /** Connected again (subscriptions were re-sent; anything published meanwhile was lost). */
  reconnected: [];
}

/**
 * The state of a node's NATS connection, from the client's status stream:
 * whether it is connected now, and events when that changes. Logs what an
 * operator needs: the loss (warn), a reminder while it lasts (one line per
 * 10 s, through RateLimitedLog), the return with the time it took.
 */
export class ConnectionStatus extends EventEmitter<ConnectionEvents> {
  private up = true;
  private downSince = 0;
  private readonly reminders: RateLimitedLog;

  constructor(
    readonly connection: NatsConnection,
    private readonly log: Logger,
  ) {
    super();
    this.reminders = new RateLimitedLog(log, { intervalMs: 10_000, burst: 1 });
    void this.follow();
    connection.closed().then(
      (error) => error && log.error({ error: error.message }, 'NATS connection closed'),
      () => {},
    );
  }

  get connected(): boolean {
    return this.up && !this.connection.isClosed();
  }

  private async follow(): Promise<void> {
    for await (const status of this.connection.status()) {
      const server = typeof status.data === 'string' ? redactUrl(status.data) : undefined;
      switch (status.type) {
        case 'disconnect':
          if (!this.up) break;
          this.up = false;
          this.downSince = Date.now();
          this.log.warn({ server }, 'NATS connection lost; reconnecting');
          this.emit('disconnected');
          break;
        case 'reconnecting':
          this.reminders.warn('nats-reconnecting', { server, downMs: Date.now() - this.downSince }, 'NATS still unreachable; reconnecting');
          break;
        case 'reconnect':
          this.up = true;
          this.reminders.flush();
          this.log.info({ server, downMs: Date.now() - this.downSince }, 'NATS connection back');
          this.emit('reconnected');
          break;
        case 'ldm':
          this.log.warn({ server }, 'NATS server entering lame duck mode; the client will move to another server');
          break;
        case 'error':
        case 'staleConnection':
          this.reminders.warn(`nats-${status.type}`, { detail: String(status.data) }, `NATS ${status.type}`);
          break;
        case 'update':
          this.log.debug({ servers: status.data }, 'NATS cluster servers changed');
          break;
      }
    }
  }
}
