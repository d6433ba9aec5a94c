import type { Logger } from 'pino';
import { GATEWAY_PEER } from '../../media/bus/port-link.js';
import type { GatewayEvent, GatewayInit, GatewayRequests, GatewayStats } from '../../media/gateway/protocol.js';
import { ThreadHandle } from './thread-handle.js';

const GATEWAY_ENTRY = new URL('../../media/gateway/main.js', import.meta.url);

/** The main thread's side of the node's media gateway thread (media between nodes over NATS). */
export class GatewayHandle extends ThreadHandle<GatewayRequests, GatewayEvent> {
  /** The latest stats the gateway reported. */
  stats: GatewayStats | undefined;

  constructor(init: GatewayInit, log: Logger) {
    super(GATEWAY_PEER, 'media gateway', GATEWAY_ENTRY, init, log);
    this.on('event', (event) => {
      if (event.type === 'stats') this.stats = event.stats;
    });
  }
}
