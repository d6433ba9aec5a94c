import type { BusSubscription, MediaBus } from '../bus/media-bus.js';
import { buildPli } from '../rtp/rtcp.js';
import { isRtp } from '../rtp/rtp-packet.js';
import type { MediaSettings, ProducerInfo } from '../worker/protocol.js';
import { SFU_RTCP_SSRC, TrackSource } from './track-source.js';

/**
 * A track whose publisher is on another worker (or node): its packets arrive
 * over the media bus, keyframe requests go back over it. Exists while this
 * worker has consumers of the track.
 */
export class RemoteTrackSource extends TrackSource {
  private readonly subscription: BusSubscription;

  constructor(info: ProducerInfo, settings: MediaSettings, bus: MediaBus) {
    super(info, settings);
    this.subscription = bus.subscribe(info.trackId, (packet) => {
      if (isRtp(packet)) this.deliver(packet);
    });
  }

  override close(): void {
    this.subscription.close();
    super.close();
  }

  protected sendKeyframeRequest(): void {
    this.subscription.sendFeedback(buildPli(SFU_RTCP_SSRC, this.mediaSsrc ?? 0));
  }
}
