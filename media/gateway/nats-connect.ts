import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import type { MediaGateway } from './media-gateway.js';

/** Between two attempts at the first connection, ms (nats.js reconnects by itself once connected). */
const FIRST_CONNECT_RETRY_MS = 1000;
/** How long a shutdown waits for the connection to drain, ms. */
const DRAIN_TIMEOUT_MS = 2000;
/**
 * Longest one connection attempt may take, the first or a reconnect, ms. nats.js waits 20 s by
 * default, and a server that accepts the TCP connection but never answers (one shutting down or
 * starting up) held the gateway that long, and media between nodes with it, after NATS restarted.
 */
export const GATEWAY_DIAL_TIMEOUT_MS = 2000;

export interface GatewayConnectOptions {
  nodeId: string;
  /** NATS server URLs. */
  servers: string[];
  log: Logger;
  limitedLog: RateLimitedLog;
  /** True once the gateway's thread is shutting down: no more attempts. */
  stopping: () => boolean;
}

/**
 * Connects the media gateway to NATS, retrying every second until it works
 * or `stopping()`; from then on nats.js keeps the connection up for ever.
 * Resolves with the connection (attached to the gateway), or undefined when
 * stopped first. Used by the gateway's own thread and by a single worker
 * that hosts the gateway (`--media-gateway worker`).
 */
export async function connectGateway(gateway: MediaGateway, options: GatewayConnectOptions): Promise<NatsConnection | undefined> {
  const { nodeId, servers, log, limitedLog, stopping } = options;
  for (let attempt = 1; !stopping(); attempt++) {
    try {
      const connection = await connect({
        servers,
        name: `shoal-media-${nodeId}`,
        // Never give up (the default gives up after 10 attempts per server); try every second.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        reconnectJitter: 200,
        // A silent server (a partition, not a closed socket) is noticed within 10 to 15 s.
        pingInterval: 5000,
        maxPingOut: 2,
        noEcho: true,
        timeout: GATEWAY_DIAL_TIMEOUT_MS,
      });
      if (stopping()) {
        await connection.close();
        return undefined;
      }
      gateway.attach(connection);
      log.info({ servers, server: connection.getServer() }, 'media gateway connected to NATS');
      return connection;
    } catch (error) {
      limitedLog.warn('nats connect', { err: error, servers, attempt }, 'media gateway cannot reach NATS yet; retrying');
      await sleep(FIRST_CONNECT_RETRY_MS);
    }
  }
  return undefined;
}

/** Closes the gateway (the owners of what it pulls are told) and drains its connection, at most DRAIN_TIMEOUT_MS. */
export async function closeGateway(gateway: MediaGateway, nc: NatsConnection | undefined): Promise<void> {
  gateway.close();
  if (!nc) return;
  const drained = nc.drain().catch(() => undefined);
  await Promise.race([drained, sleep(DRAIN_TIMEOUT_MS)]);
  if (!nc.isClosed()) await nc.close();
}
