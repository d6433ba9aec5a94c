import type { BusSubscription, MediaBus } from '../bus/media-bus.js';
import { buildNack, buildPli } from '../rtp/rtcp.js';
import { RepeatWindow } from '../rtp/repeat-window.js';
import { DEFAULT_RETRANSMISSION_BUDGET } from '../rtp/retransmission-budget.js';
import { isRtcp, isRtp, sequenceNumber } from '../rtp/rtp-packet.js';
import type { MediaSettings, ProducerInfo } from '../worker/protocol.js';
import type { Consumer } from './consumer.js';
import { counters } from './counters.js';
import { SFU_RTCP_SSRC, TrackSource } from './track-source.js';

/** How long consumers wait for a packet asked of the owner; then they are forgotten (the owner did not have it). */
const RESEND_WAIT_MS = 1000;
/** No packet for this long, then one: the stream broke (an outage on the way), so a keyframe is asked for. */
const RESUME_GAP_MS = 1000;

/**
 * A track whose publisher is on another worker (or node): its packets arrive
 * over the media bus, keyframe requests go back over it. Exists while this
 * worker has consumers of the track. Its history holds copies (the packets
 * are views into bus batches); NACKed packets it lacks are asked of the
 * track's owner, and when they come the consumers that asked send them.
 */
export class RemoteTrackSource extends TrackSource {
  private readonly subscription: BusSubscription;
  /** Sequence numbers asked of the owner lately: asked once per window, however many consumers NACK them. */
  private readonly asked: RepeatWindow | undefined;
  /** Source sequence number → the consumers waiting for it, oldest first. */
  private readonly waiting = new Map<number, { since: number; consumers: Set<Consumer> }>();
  private lastRtpAt = 0;

  constructor(info: ProducerInfo, settings: MediaSettings, bus: MediaBus) {
    super(info, settings, true);
    this.asked = this.history ? new RepeatWindow(settings.retransmissionBufferPackets, DEFAULT_RETRANSMISSION_BUDGET.repeatWindowMs) : undefined;
    this.subscription = bus.subscribe(info, { rtp: (packet) => this.onRtp(packet), resent: (packet) => this.onResent(packet) });
  }

  override requestRetransmission(sourceSeqs: readonly number[], consumer: Consumer): void {
    if (!this.asked || this.mediaSsrc === undefined) return;
    const now = performance.now();
    this.forgetOldWaits(now);
    const ask: number[] = [];
    for (const seq of sourceSeqs) {
      let wait = this.waiting.get(seq);
      if (!wait) this.waiting.set(seq, (wait = { since: now, consumers: new Set() }));
      wait.consumers.add(consumer);
      if (this.asked.isRepeat(seq, now)) continue;
      this.asked.mark(seq, now);
      ask.push(seq);
    }
    if (ask.length === 0) return;
    counters.retransmissionsAsked += ask.length;
    this.subscription.sendFeedback(buildNack(SFU_RTCP_SSRC, this.mediaSsrc, ask));
  }

  override close(): void {
    this.subscription.close();
    this.waiting.clear();
    super.close();
  }

  protected sendKeyframeRequest(): void {
    this.subscription.sendFeedback(buildPli(SFU_RTCP_SSRC, this.mediaSsrc ?? 0));
  }

  /** A packet of the track's stream: RTP, or the publisher's sender report (RTCP) in its place in the stream. */
  private onRtp(packet: Buffer): void {
    if (isRtcp(packet)) {
      this.deliverSenderReport(packet, performance.now());
      return;
    }
    if (!isRtp(packet)) return;
    const now = performance.now();
    if (this.lastRtpAt > 0 && now - this.lastRtpAt > RESUME_GAP_MS) this.requestKeyframe();
    this.lastRtpAt = now;
    this.deliver(packet);
  }

  /** A packet the owner sent again: kept, and sent by the consumers that asked for it. */
  private onResent(packet: Buffer): void {
    if (!this.history || !isRtp(packet)) return;
    this.history.store(packet);
    const seq = sequenceNumber(packet);
    const wait = this.waiting.get(seq);
    if (!wait) return;
    this.waiting.delete(seq);
    for (const consumer of wait.consumers) if (this.consumers.has(consumer)) consumer.retransmitArrived(seq);
  }

  private forgetOldWaits(now: number): void {
    for (const [seq, wait] of this.waiting) {
      if (now - wait.since < RESEND_WAIT_MS) return;
      this.waiting.delete(seq);
    }
  }
}
