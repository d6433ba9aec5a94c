import type { Track } from 'node-datachannel';
import type { MediaBus } from '../bus/media-bus.js';
import { buildPli, parseFeedback } from '../rtp/rtcp.js';
import { ReceiveStats } from '../rtp/receive-stats.js';
import { isRtcp, isRtp } from '../rtp/rtp-packet.js';
import type { MediaSettings, ProducerInfo } from '../worker/protocol.js';
import { counters } from './counters.js';
import { SFU_RTCP_SSRC, TrackSource } from './track-source.js';
import { guarded } from '../binding/guard-callbacks.js';

/**
 * A track a publisher sends to this worker (the track belongs to the
 * publisher's transport, which closes it: its m-line may produce again). Every RTP packet goes to the
 * media bus (only if another worker or node subscribed) and to this worker's
 * consumers. Keyframe requests from anywhere end here as a throttled PLI.
 */
export class Producer extends TrackSource {
  readonly stats = new ReceiveStats();
  private readonly unregister: () => void;
  private closed = false;

  constructor(
    info: ProducerInfo,
    private readonly track: Track,
    settings: MediaSettings,
    private readonly bus: MediaBus,
    signalledSsrc: number | undefined,
  ) {
    super(info, settings);
    this.mediaSsrc = signalledSsrc;
    track.onMessage(guarded((packet) => this.onPacket(packet)));
    this.unregister = bus.registerProducer(info.trackId, (rtcp) => {
      if (parseFeedback(rtcp).keyframe.length > 0) this.requestKeyframe();
    });
  }

  /** Sends raw RTCP to the publisher (REMB, PLI). */
  sendRtcp(packet: Buffer): void {
    if (this.closed || !this.track.isOpen()) return;
    try {
      this.track.sendMessageBinary(packet);
    } catch {
      // Closed between the check and the send; nothing to tell the publisher any more.
    }
  }

  override close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    super.close();
  }

  protected sendKeyframeRequest(): void {
    if (this.mediaSsrc !== undefined) this.sendRtcp(buildPli(SFU_RTCP_SSRC, this.mediaSsrc));
  }

  private onPacket(packet: Buffer): void {
    if (this.closed || isRtcp(packet) || !isRtp(packet)) return;
    counters.packetsIn++;
    counters.bytesIn += packet.length;
    this.stats.onPacket(packet);
    this.bus.publishRtp(this.info.trackId, packet);
    this.deliver(packet);
  }
}
