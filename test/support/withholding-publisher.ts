import type { MediaPeer } from '../../bench/client/media-peer.js';
import { answerKeepsRtx, retransmission } from '../../bench/client/nack-responder.js';
import { parseFeedback } from '../../media/rtp/rtcp.js';
import { sequenceNumber } from '../../media/rtp/rtp-packet.js';

const VIDEO_PAYLOAD_BYTES = 1000;
const AUDIO_PAYLOAD_BYTES = 100;

/**
 * A synthetic publisher (a MediaPeer that published audio and video) whose
 * packets the test sends one by one, and which keeps back the ones it is told
 * to until the SFU NACKs them: then it sends them, as RTX when the SFU's
 * answer negotiated RTX, as the same packet on the media SSRC otherwise.
 * Records every sequence number the SFU's NACKs named, per kind.
 */
export class WithholdingPublisher {
  /** Sequence numbers named by NACKs for the video SSRC, in order, repeats included. */
  readonly videoNacked: number[] = [];
  /** NACKs naming the audio SSRC. */
  audioNacks = 0;
  /** Packets sent per kind (the probe counter of the next one). */
  readonly sent = { audio: 0, video: 0 };
  /** Packets sent again after a NACK. */
  resent = 0;
  /** Whether the SFU's answer negotiated RTX for the video m-line. */
  readonly rtxNegotiated: boolean;
  private readonly withheld = new Map<number, Buffer>();
  private rtxSeq = 1000;

  constructor(readonly peer: MediaPeer) {
    this.rtxNegotiated = answerKeepsRtx(peer.publisher!.remoteDescription()!.sdp, '1', this.published('video').rtx);
    peer.onPublisherRtcp((kind, packet) => this.onRtcp(kind, packet));
  }

  get videoSsrc(): number {
    return this.published('video').source.ssrc;
  }

  /** Packets kept back and not NACKed yet, by sequence number. */
  get stillWithheld(): number[] {
    return [...this.withheld.keys()];
  }

  /** Makes the next packet of `kind` and sends it, or keeps it back (`withhold`); returns its sequence number. */
  send(kind: 'audio' | 'video', withhold = false): number {
    const { source, track } = this.published(kind);
    const packet = source.next(kind === 'video' ? VIDEO_PAYLOAD_BYTES : AUDIO_PAYLOAD_BYTES, {
      tsStep: kind === 'video' ? 3000 : 960,
      keyframe: kind === 'video' && this.sent.video === 0,
      marker: kind === 'video',
    });
    this.sent[kind]++;
    const seq = sequenceNumber(packet);
    if (withhold) this.withheld.set(seq, packet);
    else track.sendMessageBinary(packet);
    return seq;
  }

  private onRtcp(kind: 'audio' | 'video', packet: Buffer): void {
    for (const nack of parseFeedback(packet).nacks) {
      if (nack.ssrc === this.published('audio').source.ssrc) this.audioNacks++;
      if (nack.ssrc !== this.videoSsrc || kind !== 'video') continue;
      for (const seq of nack.seqs) {
        this.videoNacked.push(seq);
        const original = this.withheld.get(seq);
        if (!original) continue;
        this.withheld.delete(seq);
        const rtx = this.rtxNegotiated ? this.published('video').rtx : undefined;
        this.published('video').track.sendMessageBinary(retransmission(original, rtx, this.rtxSeq++));
        this.resent++;
      }
    }
  }

  private published(kind: 'audio' | 'video') {
    const published = this.peer.published.get(kind);
    if (!published) throw new Error(`no ${kind} published`);
    return published;
  }
}
