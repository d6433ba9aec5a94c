import type { DataChannel, PeerConnection, Track } from 'node-datachannel';
import { keepUntilClosed } from '../binding/keep-until-closed.js';
import { Producer } from '../forwarding/producer.js';
import { SFU_RTCP_SSRC } from '../forwarding/track-source.js';
import { PublisherBitrateEstimator } from '../rtp/bitrate-estimator.js';
import { buildRemb } from '../rtp/rtcp.js';
import { preparePublisherOffer } from '../sdp/publisher-offer.js';
import { SdpError } from '../sdp/sdp.js';
import type { ProducerInfo } from '../worker/protocol.js';
import { relayIncomingData } from './data-channels.js';
import { RemoteCandidates } from './remote-candidates.js';
import { announceCandidate, announceSdp, rtcConfig, type TransportContext } from './transport-context.js';
import { guarded } from '../binding/guard-callbacks.js';

const REMB_INTERVAL_MS = 250;
const NEGOTIATION_TIMEOUT_MS = 5000;

/**
 * A participant's publisher connection: the client offers, this answers.
 * Each sending m-line becomes a Producer. Publishers get REMB feedback every
 * 250 ms (transport-cc is removed from their offers) so their encoders ramp up.
 */
export class PublisherTransport {
  private readonly pc: PeerConnection;
  private readonly candidates: RemoteCandidates;
  private readonly producers = new Map<string, Producer>();
  /** Tracks libdatachannel created for the client's m-lines, by mid, not yet producing. */
  private readonly incoming = new Map<string, Track>();
  private readonly dataChannels: DataChannel[] = [];
  private readonly estimator: PublisherBitrateEstimator;
  private readonly rembTimer: NodeJS.Timeout;
  private onTrackArrived: (() => void) | undefined;
  private onAnswer: ((sdp: string) => void) | undefined;
  private nextTrackNumber = 0;
  private negotiation: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** `onFailed` runs when ICE or DTLS fails for good; the transport is useless then. */
  constructor(
    private readonly ctx: TransportContext,
    private readonly participantId: string,
    onFailed: () => void,
  ) {
    const { settings } = ctx;
    this.estimator = new PublisherBitrateEstimator(settings.minPublisherBitrate, settings.maxPublisherBitrate);
    this.pc = new ctx.binding.PeerConnection(`pub-${participantId}`, rtcConfig(settings));
    this.candidates = new RemoteCandidates(this.pc);
    this.pc.onLocalDescription(guarded((sdp, type) => {
      if (type === 'answer') this.onAnswer?.(sdp);
    }));
    this.pc.onLocalCandidate(guarded((candidate, mid) => {
      ctx.emit({
        type: 'localCandidate',
        participantId,
        role: 'publisher',
        candidate: announceCandidate(settings, candidate),
        mid,
      });
    }));
    this.pc.onStateChange(guarded((state) => {
      ctx.emit({ type: 'connectionState', participantId, role: 'publisher', state });
      if (state === 'failed' && !this.closed) onFailed();
    }));
    this.pc.onTrack(guarded((track) => {
      this.incoming.set(track.mid(), keepUntilClosed(track));
      this.onTrackArrived?.();
    }));
    this.pc.onDataChannel(guarded((channel) => {
      this.dataChannels.push(keepUntilClosed(channel));
      relayIncomingData(channel, participantId, ctx.emit);
    }));
    this.rembTimer = setInterval(() => this.sendRemb(), REMB_INTERVAL_MS);
  }

  /** Applies an offer (first or renegotiation); resolves with the answer and the tracks now published. */
  applyOffer(sdp: string): Promise<{ sdp: string; producers: ProducerInfo[] }> {
    // One negotiation at a time: a second offer waits for the first answer.
    const result = this.negotiation.then(() => this.negotiate(sdp));
    this.negotiation = result.catch(() => undefined);
    return result;
  }

  private async negotiate(sdp: string): Promise<{ sdp: string; producers: ProducerInfo[] }> {
    if (this.closed) throw new Error('publisher connection closed');
    const offer = preparePublisherOffer(sdp);
    const answer = this.waitFor<string>((resolve) => (this.onAnswer = resolve), 'answer');
    try {
      this.pc.setRemoteDescription(offer.sdp, 'offer');
    } catch (error) {
      this.onAnswer = undefined;
      throw new SdpError(`offer rejected: ${(error as Error).message}`);
    }
    this.candidates.flush();
    const answerSdp = await answer;
    const wanted = offer.tracks.filter((t) => !this.producers.has(t.mid));
    await this.waitFor<void>((resolve) => {
      const check = () => wanted.every((t) => this.incoming.has(t.mid)) && resolve();
      this.onTrackArrived = check;
      check();
    }, 'tracks');

    const offered = new Set(offer.tracks.map((t) => t.mid));
    for (const [mid, producer] of this.producers) {
      if (offered.has(mid)) continue;
      this.producers.delete(mid);
      this.ctx.router.removeProducer(producer);
      this.ctx.emit({ type: 'producerClosed', participantId: this.participantId, trackId: producer.trackId });
    }
    for (const t of wanted) {
      const track = this.incoming.get(t.mid)!;
      this.incoming.delete(t.mid);
      const info: ProducerInfo = {
        trackId: `${this.participantId}-t${this.nextTrackNumber++}`,
        participantId: this.participantId,
        mid: t.mid,
        kind: t.kind,
        codec: t.codec,
        workerId: this.ctx.workerId,
      };
      const producer = new Producer(info, track, this.ctx.settings, this.ctx.bus, t.ssrc);
      this.producers.set(t.mid, producer);
      this.ctx.router.addProducer(producer);
    }
    // Tracks of rejected m-lines: nothing will flow on them.
    for (const [mid, track] of this.incoming) if (!offered.has(mid)) track.close();
    return { sdp: announceSdp(this.ctx.settings, answerSdp), producers: this.producerInfos() };
  }

  addRemoteCandidate(candidate: string, mid: string): void {
    this.candidates.add(candidate, mid);
  }

  get producerCount(): number {
    return this.producers.size;
  }

  /** The tracks this connection publishes. */
  producerInfos(): ProducerInfo[] {
    return [...this.producers.values()].map((p) => p.info);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.rembTimer);
    for (const producer of this.producers.values()) this.ctx.router.removeProducer(producer);
    this.producers.clear();
    for (const track of this.incoming.values()) track.close();
    this.incoming.clear();
    for (const channel of this.dataChannels) channel.close();
    this.pc.close();
  }

  private waitFor<T>(arm: (resolve: (value: T) => void) => void, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${NEGOTIATION_TIMEOUT_MS} ms`)), NEGOTIATION_TIMEOUT_MS);
      arm((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }

  /** REMB with the current estimate for every SSRC this publisher sends, on its first video track. */
  private sendRemb(): void {
    let expected = 0;
    let lost = 0;
    let video: Producer | undefined;
    const ssrcs: number[] = [];
    for (const producer of this.producers.values()) {
      if (producer.mediaSsrc !== undefined) ssrcs.push(producer.mediaSsrc);
      if (producer.info.kind !== 'video') continue;
      video ??= producer;
      const interval = producer.stats.takeInterval();
      expected += interval.expected;
      lost += interval.lost;
    }
    if (!video || ssrcs.length === 0) return;
    video.sendRtcp(buildRemb(SFU_RTCP_SSRC, this.estimator.update(expected, lost), ssrcs));
  }
}
