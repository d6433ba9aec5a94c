import type { Producer } from '../forwarding/producer.js';
import { SFU_RTCP_SSRC } from '../forwarding/track-source.js';
import { ArrivalRecorder } from '../rtp/arrival-recorder.js';
import { readTransportSequence } from '../rtp/transport-cc.js';
import { guarded } from '../binding/guard-callbacks.js';

/** How often a publisher gets transport-cc feedback, ms (libwebrtc's receivers send it every 50-250 ms, 100 ms by default). */
export const TRANSPORT_CC_INTERVAL_MS = 50;

/**
 * Transport-cc feedback for one publisher connection (`--publisher-feedback
 * twcc`): each of its producers tells `ArrivalRecorder` when every RTP packet
 * arrived (by its transport-wide sequence number), and every 50 ms the
 * feedback goes to the publisher on one of its tracks (a video one if there
 * is one). The arrival time is when the worker's event loop got the packet
 * from libdatachannel, which exposes no earlier timestamp.
 */
export class TransportCcFeedback {
  private readonly recorder = new ArrivalRecorder();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly producers: ReadonlyMap<string, Producer>) {
    this.timer = setInterval(guarded(() => this.sendFeedback()), TRANSPORT_CC_INTERVAL_MS);
  }

  /** What a producer whose m-line numbers packets with extension `extensionId` calls for each RTP packet. */
  arrivalsOf(extensionId: number | undefined): ((packet: Buffer) => void) | undefined {
    if (extensionId === undefined) return undefined;
    const recorder = this.recorder;
    return (packet) => {
      const sequence = readTransportSequence(packet, extensionId);
      if (sequence >= 0) recorder.record(sequence, performance.now() * 1000);
    };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private sendFeedback(): void {
    let via: Producer | undefined;
    for (const producer of this.producers.values()) {
      if (producer.mediaSsrc === undefined) continue;
      if (!via || (via.info.kind !== 'video' && producer.info.kind === 'video')) via = producer;
    }
    if (via) this.recorder.flush(SFU_RTCP_SSRC, via.mediaSsrc!, (packet) => via.sendRtcp(packet));
  }
}
