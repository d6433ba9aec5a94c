import type { Track } from 'node-datachannel';
import type { FeedbackOrigin, MediaBus } from '../bus/media-bus.js';
import { buildPli, parseFeedback } from '../rtp/rtcp.js';
import { RepeatWindow } from '../rtp/repeat-window.js';
import { DEFAULT_RETRANSMISSION_BUDGET } from '../rtp/retransmission-budget.js';
import { ReceiveStats } from '../rtp/receive-stats.js';
import { buildReceiverReportBlocks, ReceptionReport } from '../rtp/receiver-report.js';
import { buildSenderReport } from '../rtp/sender-report.js';
import { isRtcp, isRtp } from '../rtp/rtp-packet.js';
import type { OfferedRtx } from '../sdp/publisher-rtx.js';
import type { MediaSettings, ProducerInfo } from '../worker/protocol.js';
import { counters } from './counters.js';
import { PublisherNack } from './publisher-nack.js';
import { SFU_RTCP_SSRC, TrackSource } from './track-source.js';
import { guarded } from '../binding/guard-callbacks.js';

/**
 * A track a publisher sends to this worker (the track belongs to the
 * publisher's transport, which closes it: its m-line may produce again). Every RTP packet goes to the
 * media bus (only if another worker or node subscribed) and to this worker's
 * consumers. Keyframe requests from anywhere end here as a throttled PLI;
 * NACKs from other workers or nodes (for packets their own histories lack)
 * are answered from this one's. Packets lost on the way from the publisher
 * are NACKed to it (`PublisherNack`) when its codec negotiated NACK.
 */
export class Producer extends TrackSource {
  readonly stats = new ReceiveStats();
  /** Told of every RTP packet as it arrives (transport-cc feedback records arrival times), if set. */
  onRtpArrival: ((packet: Buffer) => void) | undefined;
  /** What the receiver reports to the publisher say about its stream. */
  private readonly reception: ReceptionReport;
  private readonly unregister: () => void;
  /** Per bus peer that asks: a packet is sent again to it at most once per window. */
  private readonly resentTo = new Map<FeedbackOrigin, RepeatWindow>();
  private readonly historySlots: number;
  private readonly repair: PublisherNack | undefined;
  private closed = false;

  constructor(
    info: ProducerInfo,
    private readonly track: Track,
    settings: MediaSettings,
    private readonly bus: MediaBus,
    signalledSsrc: number | undefined,
    rtx?: OfferedRtx,
  ) {
    super(info, settings);
    this.historySlots = settings.retransmissionBufferPackets;
    this.mediaSsrc = signalledSsrc;
    this.repair = PublisherNack.for(info, rtx, (nack) => this.sendRtcp(nack));
    this.reception = new ReceptionReport(info.codec.clockRate, signalledSsrc);
    track.onMessage(guarded((packet) => this.onPacket(packet)));
    this.unregister = bus.registerProducer(info.trackId, (rtcp, from) => this.onBusFeedback(rtcp, from));
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

  /** Sends the publisher a receiver report on its stream (RFC 3550 6.4.2), once packets arrived. */
  sendReceiverReport(): void {
    const block = this.reception.report(performance.now());
    if (block) this.sendRtcp(buildReceiverReportBlocks(SFU_RTCP_SSRC, [block]));
  }

  override close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    this.repair?.close();
    this.resentTo.clear();
    super.close();
  }

  protected sendKeyframeRequest(): void {
    if (this.mediaSsrc !== undefined) this.sendRtcp(buildPli(SFU_RTCP_SSRC, this.mediaSsrc));
  }

  /** Feedback of subscribers on other workers or nodes: keyframe requests, and NACKs for packets they lack. */
  private onBusFeedback(rtcp: Buffer, from: FeedbackOrigin): void {
    if (this.closed) return;
    const feedback = parseFeedback(rtcp);
    if (feedback.keyframe.length > 0) this.requestKeyframe();
    const history = this.history;
    if (!history || feedback.nacks.length === 0) return;
    let sent = this.resentTo.get(from);
    if (!sent) this.resentTo.set(from, (sent = new RepeatWindow(this.historySlots, DEFAULT_RETRANSMISSION_BUDGET.repeatWindowMs)));
    const now = performance.now();
    for (const nack of feedback.nacks) {
      if (nack.ssrc !== this.mediaSsrc) continue;
      for (const seq of nack.seqs) {
        const packet = history.get(seq);
        if (!packet || sent.isRepeat(seq, now)) continue;
        sent.mark(seq, now);
        from.resend(this.info.trackId, packet);
        counters.retransmissionsResent++;
      }
    }
  }

  private onPacket(received: Buffer): void {
    if (this.closed) return;
    if (isRtcp(received)) return this.onRtcp(received);
    if (!isRtp(received)) return;
    // Every packet's arrival counts for transport-cc, RTX included.
    this.onRtpArrival?.(received);
    counters.packetsIn++;
    counters.bytesIn += received.length;
    // What an RTX packet carries, or nothing (padding, a duplicate).
    const packet = this.repair ? this.repair.receive(received) : received;
    if (!packet) return;
    this.stats.onPacket(packet);
    this.reception.onPacket(packet, performance.now());
    this.bus.publishRtp(this.info.trackId, packet);
    this.deliver(packet);
  }

  /** The publisher's RTCP: its sender reports go to every consumer, here and wherever the track's packets go. */
  private onRtcp(rtcp: Buffer): void {
    const now = performance.now();
    const info = this.deliverSenderReport(rtcp, now);
    if (!info) return;
    this.reception.onSenderReport(info, now);
    this.bus.publishRtp(this.info.trackId, buildSenderReport(info));
  }
}
