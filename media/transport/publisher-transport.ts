import type { DataChannel, PeerConnection, Track } from 'node-datachannel';
import { keepUntilClosed } from '../binding/keep-until-closed.js';
import { Producer } from '../forwarding/producer.js';
import { SFU_RTCP_SSRC } from '../forwarding/track-source.js';
import { PublisherBitrateEstimator } from '../rtp/bitrate-estimator.js';
import { buildRemb } from '../rtp/rtcp.js';
import { ICE_RESTART_REFUSED, restartsIce } from '../sdp/ice-credentials.js';
import { codecKey } from '../sdp/codecs.js';
import { preparePublisherOffer, type OfferedTrack } from '../sdp/publisher-offer.js';
import { parseSdp, SdpError } from '../sdp/sdp.js';
import type { ProducerInfo } from '../worker/protocol.js';
import { WorkerRequestError } from '../worker/request-error.js';
import { ConnectTimeout } from './connect-timeout.js';
import { newTrackId } from '../../control/cluster/ids.js';
import { relayIncomingData } from './data-channels.js';
import { withDeadline, type Deadline } from './deadline.js';
import { describeWithCandidates } from './gathering.js';
import { RemoteCandidates } from './remote-candidates.js';
import { openPeerConnection } from './port-budget.js';
import { announceCandidate, announceSdp, rtcConfig, warnLimited, type TransportContext } from './transport-context.js';
import { TransportCcFeedback } from './transport-cc-feedback.js';
import { guarded } from '../binding/guard-callbacks.js';

const REMB_INTERVAL_MS = 250;
/** Receiver reports to publishers: about as often as browsers send theirs for video. */
const RECEIVER_REPORT_INTERVAL_MS = 1000;
const NEGOTIATION_TIMEOUT_MS = 5000;
/** m-lines a publisher connection may name over its life, per track it may send at once. */
const MLINES_PER_TRACK_ALLOWED = 4;

/**
 * A participant's publisher connection: the client offers, this answers.
 * Each sending m-line becomes a Producer. Publishers get REMB feedback every
 * 250 ms (transport-cc is removed from their offers) so their encoders ramp up,
 * or with --publisher-feedback twcc transport-cc feedback (TransportCcFeedback).
 */
export class PublisherTransport {
  private readonly pc: PeerConnection;
  private readonly candidates: RemoteCandidates;
  private readonly producers = new Map<string, Producer>();
  /**
   * Every live track libdatachannel created for the client's m-lines, by mid,
   * producing or not: an m-line that stops sending keeps its track, so the
   * same mid can send again (a browser re-uses a transceiver that way).
   */
  private readonly tracks = new Map<string, Track>();
  /** Every mid an applied offer named; one with no live track was rejected and cannot carry media again. */
  private readonly knownMids = new Set<string>();
  private readonly dataChannels: DataChannel[] = [];
  private readonly estimator: PublisherBitrateEstimator;
  private readonly rembTimer: NodeJS.Timeout | undefined;
  /** Set with --publisher-feedback twcc (then no REMB). */
  private readonly transportCc: TransportCcFeedback | undefined;
  private readonly receiverReportTimer: NodeJS.Timeout;
  private readonly connectTimeout: ConnectTimeout;
  private onTrackArrived: (() => void) | undefined;
  private onAnswer: ((sdp: string) => void) | undefined;
  private negotiation: Promise<unknown> = Promise.resolve();
  /** The wait of the negotiation under way, ended early when the connection closes. */
  private waiting: Deadline<unknown> | undefined;
  private closed = false;

  /** `onFailed` runs when ICE or DTLS fails for good, or the connection does not come up in time; the transport is useless then. */
  constructor(
    private readonly ctx: TransportContext,
    private readonly participantId: string,
    onFailed: () => void,
  ) {
    const { settings } = ctx;
    this.estimator = new PublisherBitrateEstimator(settings.minPublisherBitrate, settings.maxPublisherBitrate);
    this.pc = openPeerConnection(ctx, `pub-${participantId}`, rtcConfig(settings));
    this.candidates = new RemoteCandidates(this.pc, settings.maxRemoteCandidates, (candidate, error) =>
      warnLimited(ctx, 'candidate refused', { candidate, err: error }, 'remote candidate refused by libdatachannel'),
    );
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
    this.connectTimeout = new ConnectTimeout(settings.connectTimeoutMs, () => {
      if (this.closed) return;
      warnLimited(ctx, 'publisher connect timeout', { timeoutMs: settings.connectTimeoutMs }, 'publisher connection did not connect in time');
      onFailed();
    });
    this.pc.onStateChange(guarded((state) => {
      ctx.emit({ type: 'connectionState', participantId, role: 'publisher', state });
      if (state === 'connected') this.connectTimeout.stop();
      if (state === 'failed' && !this.closed) onFailed();
    }));
    this.pc.onTrack(guarded((track) => {
      const mid = track.mid();
      keepUntilClosed(track, () => {
        if (this.tracks.get(mid) === track) this.tracks.delete(mid);
      });
      // A rejected m-line's track comes closed.
      if (!track.isClosed()) this.tracks.set(mid, track);
      this.onTrackArrived?.();
    }));
    this.pc.onDataChannel(guarded((channel) => {
      this.dataChannels.push(keepUntilClosed(channel));
      relayIncomingData(channel, participantId, ctx.emit);
    }));
    if (settings.publisherFeedback === 'twcc') this.transportCc = new TransportCcFeedback(this.producers);
    else this.rembTimer = setInterval(guarded(() => this.sendRemb()), REMB_INTERVAL_MS);
    this.receiverReportTimer = setInterval(guarded(() => this.producers.forEach((p) => p.sendReceiverReport())), RECEIVER_REPORT_INTERVAL_MS);
  }

  /**
   * Applies an offer (first or renegotiation); resolves with the answer and the tracks now published.
   * `candidatesInAnswer`: the answer waits for the end of ICE gathering and carries the server's candidates.
   */
  applyOffer(sdp: string, candidatesInAnswer = false): Promise<{ sdp: string; producers: ProducerInfo[] }> {
    // One negotiation at a time: a second offer waits for the first answer.
    const result = this.negotiation.then(() => this.negotiate(sdp, candidatesInAnswer));
    this.negotiation = result.catch(() => undefined);
    return result;
  }

  private async negotiate(sdp: string, candidatesInAnswer: boolean): Promise<{ sdp: string; producers: ProducerInfo[] }> {
    if (this.closed) throw closedWhileNegotiating();
    const offer = preparePublisherOffer(sdp, this.transportCc !== undefined);
    this.checkTrackLimits(offer);
    const current = this.pc.remoteDescription();
    if (current && restartsIce(parseSdp(current.sdp), parseSdp(offer.sdp))) throw new SdpError(ICE_RESTART_REFUSED);
    for (const { mid } of offer.tracks) {
      const track = this.tracks.get(mid);
      if (this.knownMids.has(mid) && (!track || track.isClosed())) {
        throw new SdpError(`m-line "${mid}" was rejected earlier on this connection; send the track on a new m-line`);
      }
    }
    const fromOffer = this.candidates.admit(offer.candidates);
    const answer = this.wait<string>((resolve) => (this.onAnswer = resolve), 'answer');
    try {
      this.pc.setRemoteDescription(offer.sdp, 'offer');
    } catch (error) {
      // Refused before anything changed: no answer will come.
      answer.cancel();
      this.onAnswer = undefined;
      throw new SdpError(`offer rejected: ${(error as Error).message}`);
    }
    for (const mid of offer.mids) this.knownMids.add(mid);
    this.candidates.flush(fromOffer);
    this.connectTimeout.start();
    const answerSdp = await answer.promise;
    // A track whose codec changed is published anew (a new track id).
    const unchanged = (t: OfferedTrack) => {
      const producer = this.producers.get(t.mid);
      return producer !== undefined && producer.info.kind === t.kind && codecKey(producer.info.codec) === codecKey(t.codec);
    };
    const wanted = offer.tracks.filter((t) => !unchanged(t));
    await this.wait<void>((resolve) => {
      const check = () => wanted.every((t) => this.tracks.has(t.mid)) && resolve();
      this.onTrackArrived = check;
      check();
    }, 'tracks').promise;

    const kept = new Set(offer.tracks.filter(unchanged).map((t) => t.mid));
    for (const [mid, producer] of this.producers) {
      if (kept.has(mid)) continue;
      this.producers.delete(mid);
      this.ctx.router.removeProducer(producer);
      this.ctx.emit({ type: 'producerClosed', participantId: this.participantId, trackId: producer.trackId });
    }
    for (const t of wanted) {
      const info: ProducerInfo = {
        trackId: newTrackId(),
        participantId: this.participantId,
        mid: t.mid,
        kind: t.kind,
        codec: t.codec,
        nodeId: this.ctx.nodeId,
        workerId: this.ctx.workerId,
      };
      const producer = new Producer(info, this.tracks.get(t.mid)!, this.ctx.settings, this.ctx.bus, t.ssrc, t.rtx);
      this.producers.set(t.mid, producer);
      this.ctx.router.addProducer(producer);
    }
    for (const t of offer.tracks) this.producers.get(t.mid)!.onRtpArrival = this.transportCc?.arrivalsOf(t.transportCcId);
    const described = candidatesInAnswer ? await describeWithCandidates(this.pc) : answerSdp;
    if (this.closed) throw closedWhileNegotiating();
    return { sdp: announceSdp(this.ctx.settings, described), producers: this.producerInfos() };
  }

  /**
   * At most `maxTracksPerParticipant` sending m-lines per offer, and at most
   * four times that many m-lines over the connection's life: each new mid
   * costs a libdatachannel Track (one held until the worker ends when its
   * m-line is rejected at once).
   */
  private checkTrackLimits(offer: { mids: readonly string[]; sendingMLines: number }): void {
    const { maxTracksPerParticipant } = this.ctx.settings;
    if (offer.sendingMLines > maxTracksPerParticipant) {
      throw new WorkerRequestError('TOO_MANY_TRACKS', `the offer sends ${offer.sendingMLines} tracks; at most ${maxTracksPerParticipant} are allowed`);
    }
    const maxMLines = MLINES_PER_TRACK_ALLOWED * maxTracksPerParticipant;
    const named = new Set([...this.knownMids, ...offer.mids]).size;
    if (named > maxMLines) {
      throw new WorkerRequestError(
        'TOO_MANY_TRACKS',
        `this publisher connection would have had ${named} m-lines; at most ${maxMLines} are allowed (re-use m-lines, or publish on a new connection)`,
      );
    }
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
    this.waiting?.cancel(closedWhileNegotiating());
    this.connectTimeout.stop();
    clearInterval(this.rembTimer);
    this.transportCc?.close();
    clearInterval(this.receiverReportTimer);
    for (const producer of this.producers.values()) this.ctx.router.removeProducer(producer);
    this.producers.clear();
    for (const track of this.tracks.values()) track.close();
    this.tracks.clear();
    for (const channel of this.dataChannels) channel.close();
    this.pc.close();
    this.ctx.ports?.give();
  }

  /** A wait of the negotiation under way; one at a time. */
  private wait<T>(arm: (resolve: (value: T) => void) => void, what: string): Deadline<T> {
    const deadline = withDeadline(arm, NEGOTIATION_TIMEOUT_MS, what);
    this.waiting = deadline as Deadline<unknown>;
    return deadline;
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

/** An offer that meets a connection closed under it (the participant left or was replaced, the connection failed). */
function closedWhileNegotiating(): WorkerRequestError {
  return new WorkerRequestError('INVALID_STATE', 'the publisher connection was closed while this offer was being applied');
}
