import type { DataChannel, PeerConnection } from 'node-datachannel';
import { keepUntilClosed } from '../binding/keep-until-closed.js';
import type { Binding } from '../binding/load-binding.js';
import type { MediaSettings } from '../worker/protocol.js';
import { rtcConfig } from './transport-context.js';

/**
 * Keeps a worker's ICE UDP mux port bound for the worker's whole life.
 *
 * libjuice shares one socket among the connections on a mux port and closes
 * it when the last one goes. A connection made at that moment (a subscriber
 * connection replacing a failed one that was the worker's only connection)
 * can find the port still taken (EADDRINUSE; about one run in 40 of
 * interop-gstreamer.test.ts), and node-datachannel's setLocalDescription
 * lets libdatachannel's "Failed to gather local ICE candidates" through as a
 * C++ exception: the whole process aborts. This idle connection, which
 * gathers once and is never answered, keeps the socket open, so every other
 * connection joins it and none binds the port again.
 */
export class UdpMuxHolder {
  private constructor(
    private readonly pc: PeerConnection,
    private readonly channel: DataChannel,
  ) {}

  /** Binds the worker's mux port now; undefined when the worker uses a port range (no mux: nothing shared). */
  static open(binding: Binding, settings: MediaSettings): UdpMuxHolder | undefined {
    const config = rtcConfig(settings);
    if (!config.enableIceUdpMux) return undefined;
    const pc = new binding.PeerConnection('udp-mux-holder', { ...config, disableAutoNegotiation: true });
    const channel = keepUntilClosed(pc.createDataChannel('holder'));
    pc.setLocalDescription();
    return new UdpMuxHolder(pc, channel);
  }

  close(): void {
    this.channel.close();
    this.pc.close();
  }
}
