import { guarded } from '../binding/guard-callbacks.js';
import { NackGenerator } from '../rtp/nack-generator.js';
import { buildNack } from '../rtp/rtcp.js';
import { payloadType, sequenceNumber, ssrc } from '../rtp/rtp-packet.js';
import { unwrapRtxPacket } from '../rtp/rtx.js';
import type { OfferedRtx } from '../sdp/publisher-rtx.js';
import type { ProducerInfo } from '../worker/protocol.js';
import { counters } from './counters.js';
import { SFU_RTCP_SSRC } from './track-source.js';

/** How often the missing packets are looked at for NACKs to send again, while any are missing, ms. */
const RETRY_TICK_MS = 10;

/**
 * Repairs loss between a publisher and this SFU, before it reaches every
 * subscriber: gaps in the publisher's stream (`NackGenerator`) are NACKed to
 * the publisher (generic NACK, RFC 4585), which sends the packets again on
 * its RTX stream when one was negotiated (RFC 4588; unwrapped here into the
 * original packet) or on the media stream itself. A recovered packet is
 * forwarded like any other, late. Only for tracks whose codec negotiated
 * `nack` (`PublisherNack.for`).
 */
export class PublisherNack {
  private readonly generator = new NackGenerator();
  private readonly due: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The SSRC the media packets come on, once one came. */
  private mediaSsrc: number | undefined;
  /** The generator's totals already added to the worker's counters. */
  private readonly counted = { nacked: 0, givenUp: 0 };
  private closed = false;

  private constructor(
    private readonly mediaPayloadType: number,
    private readonly rtx: OfferedRtx | undefined,
    private readonly sendRtcp: (packet: Buffer) => void,
  ) {}

  /** The repair of a published track, or undefined when its codec did not negotiate generic NACK. */
  static for(info: ProducerInfo, rtx: OfferedRtx | undefined, sendRtcp: (packet: Buffer) => void): PublisherNack | undefined {
    return info.codec.rtcpFeedback.includes('nack') ? new PublisherNack(info.codec.payloadType, rtx, sendRtcp) : undefined;
  }

  /**
   * Takes a packet from the publisher (RTP, checked); returns the media
   * packet to forward: the packet itself, or the original an RTX packet
   * carried. Undefined for what must not be forwarded: an RTX packet with no
   * original (padding), or one whose original came already (a duplicate, or
   * a sender probing the bandwidth with packets sent before).
   */
  receive(packet: Buffer): Buffer | undefined {
    const now = performance.now();
    if (this.rtx && payloadType(packet) === this.rtx.payloadType) return this.receiveRtx(packet, now);
    const packetSsrc = ssrc(packet);
    if (packetSsrc !== this.mediaSsrc) {
      // Another stream on this m-line (the sender started anew): what the last one missed is lost.
      this.generator.reset();
      this.mediaSsrc = packetSsrc;
    }
    const missingBefore = this.generator.missingCount;
    if (this.generator.onPacket(sequenceNumber(packet), now)) counters.publisherPacketsRecovered++;
    // A new gap: ask at once.
    if (this.generator.missingCount > missingBefore) this.sendNacks(now);
    return packet;
  }

  close(): void {
    this.closed = true;
    this.stopTimer();
  }

  private receiveRtx(packet: Buffer, now: number): Buffer | undefined {
    if (this.mediaSsrc === undefined || ssrc(packet) !== this.rtx!.ssrc) return undefined;
    const original = unwrapRtxPacket(packet, this.mediaSsrc, this.mediaPayloadType);
    if (!original || !this.generator.recover(sequenceNumber(original), now)) return undefined;
    counters.publisherPacketsRecovered++;
    return original;
  }

  /** NACKs what is due now, and keeps looking while packets are missing. */
  private sendNacks(now: number): void {
    if (this.closed) return;
    const due = this.due;
    due.length = 0;
    const generator = this.generator;
    generator.collect(now, due);
    if (due.length > 0 && this.mediaSsrc !== undefined) {
      this.sendRtcp(buildNack(SFU_RTCP_SSRC, this.mediaSsrc, due));
      counters.publisherNacksSent++;
    }
    counters.publisherPacketsNacked += generator.nacked - this.counted.nacked;
    counters.publisherPacketsGivenUp += generator.givenUp - this.counted.givenUp;
    this.counted.nacked = generator.nacked;
    this.counted.givenUp = generator.givenUp;
    if (generator.missingCount === 0) this.stopTimer();
    else this.timer ??= setInterval(guarded(() => this.sendNacks(performance.now())), RETRY_TICK_MS);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
