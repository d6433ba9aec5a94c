import type { Track } from 'node-datachannel';
import { keepUntilClosed } from '../binding/keep-until-closed.js';
import { parseFeedback } from '../rtp/rtcp.js';
import type { RetransmissionBudget } from '../rtp/retransmission-budget.js';
import { readSourceHeader, restoreHeader, RtpRewriter, type SourceHeader } from '../rtp/rewriter.js';
import { sequenceNumber } from '../rtp/rtp-packet.js';
import { buildRtxPacket } from '../rtp/rtx.js';
import { SenderReportRewriter, type SenderInfo } from '../rtp/sender-report.js';
import type { ProducerInfo } from '../worker/protocol.js';
import { counters } from './counters.js';
import type { TrackSource } from './track-source.js';
import { guarded } from '../binding/guard-callbacks.js';

export interface ConsumerOptions {
  /** The m-line of the subscriber connection. */
  mid: string;
  track: Track;
  ssrc: number;
  payloadType: number;
  /** Of the codec the m-line was made for: every track it carries has it. */
  clockRate: number;
  /** RTX stream for retransmissions (video), if negotiated. */
  rtx?: { ssrc: number; payloadType: number };
  /** What this subscriber's NACKs may make the worker send again (video). */
  retransmissionBudget?: RetransmissionBudget;
}

/**
 * One sendonly m-line of a subscriber connection and the track it carries:
 * rewrites every packet into the subscriber's RTP space and sends it; turns
 * the subscriber's PLI/FIR into a keyframe request to the source and answers
 * its NACKs from the source's retransmission history (as RTX when
 * negotiated). When its track goes, the m-line can carry another track of the
 * same codec (`bind`): its SSRC, sequence numbers and timestamps carry on, so
 * the subscriber's decoder and SRTP context see one continuous stream.
 */
export class Consumer {
  /** The track carried now; undefined while the m-line is free. */
  producer: ProducerInfo | undefined;
  readonly mid: string;
  readonly ssrc: number;
  private readonly track: Track;
  private readonly rewriter: RtpRewriter;
  private readonly senderReports: SenderReportRewriter;
  private readonly rtx: { ssrc: number; payloadType: number } | undefined;
  private readonly budget: RetransmissionBudget | undefined;
  private rtxSeq = Math.floor(Math.random() * 0x10000);
  private source: TrackSource | undefined;
  /** 'waiting' until the track is first seen open; 'ended' once it closed, from either side. */
  private state: 'waiting' | 'open' | 'ended' = 'waiting';
  private closed = false;
  private readonly retransmitHeader: SourceHeader = { ssrc: 0, payloadType: 0, seq: 0, ts: 0 };

  constructor(options: ConsumerOptions) {
    this.mid = options.mid;
    this.ssrc = options.ssrc;
    this.track = options.track;
    this.rtx = options.rtx;
    this.budget = options.retransmissionBudget;
    this.rewriter = new RtpRewriter(options.ssrc, options.payloadType, options.clockRate);
    this.senderReports = new SenderReportRewriter(options.ssrc, options.clockRate);
    // No onOpen callback: send() polls isOpen() until the track is open. Every callback is a
    // thread-safe function, i.e. one more async handle libuv scans on each wake-up of the worker.
    keepUntilClosed(this.track, () => {
      this.state = 'ended';
    });
    // Always listen: a sendonly track with no callback queues the subscriber's RTCP.
    this.track.onMessage(guarded((rtcp) => this.onRtcp(rtcp)));
  }

  get rtxSsrc(): number | undefined {
    return this.rtx?.ssrc;
  }

  get trackId(): string | undefined {
    return this.producer?.trackId;
  }

  /** Carries `producer` from now on (the Router attaches it to its source). */
  bind(producer: ProducerInfo): void {
    this.unbind();
    this.producer = producer;
    this.rewriter.forgetSource();
  }

  /** Stops carrying a track; the m-line stays, free for another. */
  unbind(): void {
    this.source?.detach(this);
    this.source = undefined;
    this.producer = undefined;
  }

  setSource(source: TrackSource | undefined): void {
    this.source = source;
  }

  send(packet: Buffer, header: SourceHeader, nowMs: number): void {
    if (!this.isOpen() || !this.rewriter.rewrite(packet, header, nowMs)) return;
    if (!this.transmit(packet)) return;
    this.senderReports.onSent(packet);
    counters.packetsOut++;
    counters.bytesOut += packet.length;
    this.budget?.onSent(packet.length);
  }

  /** Sends the publisher's sender report in this subscriber's RTP space, once a packet of that source went out. */
  sendSenderReport(info: SenderInfo): void {
    const rtpTimestamp = this.rewriter.outputTimestamp(info.ssrc, info.rtpTimestamp);
    if (this.state !== 'open' || rtpTimestamp === undefined) return;
    this.transmit(this.senderReports.rewrite(info, rtpTimestamp));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state = 'ended';
    this.unbind();
    this.track.close();
  }

  private onRtcp(rtcp: Buffer): void {
    if (this.closed || !this.source) return;
    const feedback = parseFeedback(rtcp);
    if (feedback.keyframe.includes(this.ssrc)) this.source.requestKeyframe();
    for (const nack of feedback.nacks) if (nack.ssrc === this.ssrc) this.retransmit(nack.seqs);
  }

  /**
   * Answers a NACK from the source's history, as far as the budget allows.
   * Packets the history lacks are asked of the source (the track's owner, when
   * it is on another worker or node); `retransmitArrived` sends them if they come.
   */
  private retransmit(seqs: readonly number[]): void {
    const source = this.source;
    const history = source?.history;
    const budget = this.budget;
    if (!source || !history || !budget || this.state !== 'open') return;
    const now = performance.now();
    let missing: number[] | undefined;
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      if (budget.exhausted) {
        counters.retransmissionsRefused += seqs.length - i;
        break;
      }
      if (budget.isRepeat(seq, now)) {
        counters.retransmissionsRefused++;
        continue;
      }
      const sourceSeq = this.rewriter.sourceSequenceNumber(seq);
      if (sourceSeq === undefined) continue;
      const packet = history.get(sourceSeq);
      if (packet) this.resend(packet, now);
      else (missing ??= []).push(sourceSeq);
    }
    if (missing) source.requestRetransmission(missing, this);
  }

  /** A packet this consumer's NACK named has reached the source's history (sent again by the track's owner). */
  retransmitArrived(sourceSeq: number): void {
    const packet = this.source?.history?.get(sourceSeq);
    if (!packet || !this.budget || this.state !== 'open' || this.budget.exhausted) return;
    this.resend(packet, performance.now());
  }

  /** Sends a packet of the history again (RTX when negotiated), paid from the budget; leaves it as it was. */
  private resend(packet: Uint8Array, now: number): void {
    const header = this.retransmitHeader;
    readSourceHeader(packet, header);
    // The history holds packets by sequence number only: skip one of an earlier source.
    if (header.ssrc === this.rewriter.sourceSsrc && this.rewriter.rewrite(packet, header, now)) {
      if (this.budget!.take(sequenceNumber(packet), packet.length, now)) {
        const out = this.rtx ? buildRtxPacket(packet, this.rtx.ssrc, this.rtx.payloadType, this.nextRtxSeq()) : Buffer.from(packet);
        if (this.transmit(out)) {
          counters.retransmissions++;
          counters.packetsOut++;
          counters.bytesOut += out.length;
        }
      } else {
        counters.retransmissionsRefused++;
      }
    }
    restoreHeader(packet, header);
  }

  /** Sends on the track; false (and closed for good) when the track closed under us. */
  private transmit(packet: Buffer): boolean {
    try {
      this.track.sendMessageBinary(packet);
      return true;
    } catch {
      // "Track is not open": the transport went away before onClosed arrived.
      this.state = 'ended';
      return false;
    }
  }

  /** Whether packets can be sent; the first time the track is found open, the source is asked for a keyframe. */
  private isOpen(): boolean {
    if (this.state !== 'waiting') return this.state === 'open';
    if (!this.track.isOpen()) return false;
    this.state = 'open';
    this.source?.requestKeyframe();
    return true;
  }

  private nextRtxSeq(): number {
    this.rtxSeq = (this.rtxSeq + 1) & 0xffff;
    return this.rtxSeq;
  }
}
