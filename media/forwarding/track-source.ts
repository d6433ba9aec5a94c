import { guarded } from '../binding/guard-callbacks.js';
import { KeyframeThrottle } from '../rtp/keyframe-throttle.js';
import { PacketHistory } from '../rtp/packet-history.js';
import { readSourceHeader, restoreHeader, type SourceHeader } from '../rtp/rewriter.js';
import { readSenderReport, SenderReportGate, type SenderInfo } from '../rtp/sender-report.js';
import type { MediaSettings, ProducerInfo } from '../worker/protocol.js';
import type { Consumer } from './consumer.js';

/** SSRC this SFU puts in the sender field of the RTCP it originates. */
export const SFU_RTCP_SSRC = 1;

/**
 * A track's packets as one worker sees them, ready to fan out to this worker's
 * consumers: the local Producer (publisher on this worker) or a RemoteTrackSource
 * (publisher elsewhere, packets over the media bus). Keeps the retransmission
 * history and throttles keyframe requests towards the publisher.
 */
export abstract class TrackSource {
  readonly consumers = new Set<Consumer>();
  /** The last packets of a video track, to answer subscribers' NACKs. */
  readonly history: PacketHistory | undefined;
  /** The publisher's media SSRC, once known. */
  mediaSsrc: number | undefined;
  private readonly keyframes: KeyframeThrottle;
  private readonly header: SourceHeader = { ssrc: 0, payloadType: 0, seq: 0, ts: 0 };
  private readonly senderReports = new SenderReportGate();

  /** `copyHistory`: packets arrive as views into bus batches, which the history must not keep alive. */
  constructor(
    readonly info: ProducerInfo,
    settings: MediaSettings,
    copyHistory = false,
  ) {
    this.history = info.kind === 'video' ? new PacketHistory(settings.retransmissionBufferPackets, { copy: copyHistory }) : undefined;
    // Guarded: the throttle may send from a timer, where an exception would end the worker.
    this.keyframes = new KeyframeThrottle(guarded(() => this.sendKeyframeRequest()), settings.keyframeRequestIntervalMs);
  }

  get trackId(): string {
    return this.info.trackId;
  }

  attach(consumer: Consumer): void {
    this.consumers.add(consumer);
    consumer.setSource(this);
    this.requestKeyframe();
  }

  detach(consumer: Consumer): void {
    this.consumers.delete(consumer);
  }

  /** Asks the publisher for a keyframe, coalesced and throttled per track. */
  requestKeyframe(): void {
    if (this.info.kind === 'video') this.keyframes.request();
  }

  /**
   * Packets a consumer's NACK named that the history here lacks (source
   * sequence numbers). A remote source asks the track's owner to send them
   * again; the publisher's own worker has nowhere else to look.
   */
  requestRetransmission(_sourceSeqs: readonly number[], _consumer: Consumer): void {}

  close(): void {
    this.keyframes.close();
    for (const consumer of this.consumers) consumer.setSource(undefined);
    this.consumers.clear();
    this.history?.clear();
  }

  /** Sends one packet to every consumer, each in its own RTP space, and leaves it as it came. */
  protected deliver(packet: Buffer): void {
    const header = this.header;
    readSourceHeader(packet, header);
    this.mediaSsrc = header.ssrc;
    this.history?.store(packet);
    if (this.consumers.size === 0) return;
    const now = performance.now();
    for (const consumer of this.consumers) consumer.send(packet, header, now);
    restoreHeader(packet, header);
  }

  /**
   * The publisher's sender report in `rtcp` (a compound RTCP packet), sent to
   * every consumer in its own RTP space; returns it, or undefined when there
   * is none of the stream being forwarded or `SenderReportGate` refuses it.
   */
  protected deliverSenderReport(rtcp: Uint8Array, nowMs: number): SenderInfo | undefined {
    const info = this.mediaSsrc === undefined ? undefined : readSenderReport(rtcp, this.mediaSsrc);
    if (!info || !this.senderReports.accept(info, nowMs)) return undefined;
    for (const consumer of this.consumers) consumer.sendSenderReport(info);
    return info;
  }

  protected abstract sendKeyframeRequest(): void;
}
