import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { RateLimitedLog } from '../../control/logging/rate-limited-log.js';
import { InThreadPort } from '../bus/in-thread-port.js';
import { GATEWAY_PEER } from '../bus/port-link.js';
import type { PortMediaBus } from '../bus/port-media-bus.js';
import { MediaGateway } from './media-gateway.js';
import { closeGateway, connectGateway } from './nats-connect.js';
import type { GatewayStats } from './protocol.js';

/**
 * The node's media gateway inside its only media worker
 * (`--media-gateway worker`): the same MediaGateway as in a thread of its
 * own, joined to the worker's bus by an InThreadPort: a NATS message wakes
 * this thread only, and passes to the bus within the same event-loop turn.
 */
export class HostedGateway {
  private readonly gateway: MediaGateway;
  private nc: NatsConnection | undefined;
  private stopping = false;

  constructor(
    private readonly nodeId: string,
    workerId: number,
    bus: PortMediaBus,
    private readonly log: Logger,
    private readonly limitedLog: RateLimitedLog,
  ) {
    this.gateway = new MediaGateway(nodeId, log, limitedLog);
    const [gatewayEnd, busEnd] = InThreadPort.pair();
    this.gateway.addPeer(workerId, gatewayEnd);
    bus.addPeer(GATEWAY_PEER, busEnd);
  }

  /** Connects to NATS, retrying until it works; resolves once connected (false if closed first). */
  async connect(servers: string[]): Promise<boolean> {
    const { nodeId, log, limitedLog } = this;
    this.nc = await connectGateway(this.gateway, { nodeId, servers, log, limitedLog, stopping: () => this.stopping });
    return this.nc !== undefined;
  }

  stats(): GatewayStats {
    return this.gateway.stats();
  }

  /** Releases what this node pulls and drains the connection. */
  async close(): Promise<void> {
    this.stopping = true;
    await closeGateway(this.gateway, this.nc);
  }
}
