import type { PeerConnection, RtcConfig } from 'node-datachannel';
import { WorkerRequestError } from '../worker/request-error.js';
import type { MediaSettings } from '../worker/protocol.js';
import type { TransportContext } from './transport-context.js';

/**
 * The connections a worker may open on its share of `--udp-port-range`: one
 * UDP port each. libdatachannel failing to find a free port in the range
 * throws from `setLocalDescription`, which node-datachannel lets through as a
 * C++ exception: the process aborts. So a connection beyond the budget is
 * refused before it exists (MEDIA_PORTS_EXHAUSTED). A closed connection's
 * socket is released a moment after `close()`, on libdatachannel's threads:
 * a reserve of the range (a tenth, at least 2 ports) stays unused for those.
 * With one muxed port per worker there is no budget: every connection shares
 * that port.
 */
export class PortBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** The budget of a worker's settings; undefined with a muxed port. */
  static forSettings(settings: Pick<MediaSettings, 'portRangeBegin' | 'portRangeEnd'>): PortBudget | undefined {
    const ports = settings.portRangeEnd - settings.portRangeBegin + 1;
    if (ports <= 1) return undefined;
    return new PortBudget(Math.max(1, ports - Math.max(2, Math.ceil(ports / 10))));
  }

  get inUse(): number {
    return this.used;
  }

  take(): void {
    if (this.used >= this.limit) {
      throw new WorkerRequestError('MEDIA_PORTS_EXHAUSTED', `this media worker has no UDP port left for another connection (${this.limit} in use); try again later, or another node`);
    }
    this.used++;
  }

  give(): void {
    if (this.used > 0) this.used--;
  }
}

/** A PeerConnection for a transport, on a port of the worker's budget; the transport gives the port back when it closes. */
export function openPeerConnection(ctx: Pick<TransportContext, 'binding' | 'ports'>, name: string, config: RtcConfig): PeerConnection {
  ctx.ports?.take();
  try {
    return new ctx.binding.PeerConnection(name, config);
  } catch (error) {
    ctx.ports?.give();
    throw error;
  }
}
