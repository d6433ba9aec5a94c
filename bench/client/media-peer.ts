import nodeDataChannel from 'node-datachannel';
import type { DataChannel, PeerConnection, Track } from 'node-datachannel';
import { randomInt } from 'node:crypto';
import { shoal } from '../../proto/generated/shoal.js';
import { guarded, onCallbackError } from '../../media/binding/guard-callbacks.js';
import { keepUntilClosed } from '../../media/binding/keep-until-closed.js';
import { parseFeedback } from '../../media/rtp/rtcp.js';
import { buildSenderReport, ntpFromUnixMs, ntpParts, type SenderInfo } from '../../media/rtp/sender-report.js';
import { attributes, mediaMid, parseSdp } from '../../media/sdp/sdp.js';
import { MediaGenerator } from './media-generator.js';
import { TEST_PROFILE, type MediaProfile } from './media-profile.js';
import { answerKeepsRtx, NackResponder, type RtxStream } from './nack-responder.js';
import { ReceivedTrack } from './received-track.js';
import { RtpSource } from './rtp-source.js';
import { SignalingClient, type ServerEvent } from './signaling-client.js';
import { LatencyHistogram } from './stream-stats.js';

export { ReceivedTrack };

/** One-way latency of every packet received by the MediaPeers of this process that were given no histogram of their own. */
export const processLatency = new LatencyHistogram();

const { ConnectionRole } = shoal.signaling.v1;

/** Failures inside node-datachannel callbacks of every MediaPeer of this process (they would abort it otherwise). */
export const callbackErrors: unknown[] = [];
onCallbackError((error) => callbackErrors.push(error));

export type VideoCodec = 'VP8' | 'VP9' | 'H264';

/** Payload types and parameters the synthetic publisher offers (as Chrome does). */
export const CLIENT_CODECS = {
  opus: { payloadType: 111, fmtp: 'minptime=10;useinbandfec=1' },
  VP8: { payloadType: 96, fmtp: undefined },
  VP9: { payloadType: 98, fmtp: 'profile-id=0' },
  H264: { payloadType: 102, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
} as const;

/** Track id → the id its publisher's m-line got when published again after a failed connection. */
const republished = new Map<string, string>();

/** The id a track published by a MediaPeer of this process has now (ids change when a connection is replaced). */
export function latestTrackId(trackId: string): string {
  let id = trackId;
  for (let next = republished.get(id); next !== undefined; next = republished.get(id)) id = next;
  return id;
}

export interface MediaPeerOptions {
  url: string;
  room: string;
  identity: string;
  encoding?: 'binary' | 'json';
  /** Address the peer's UDP sockets bind to; 127.0.0.1 keeps test traffic on loopback. */
  bindAddress?: string;
  mustExist?: boolean;
  /** Access token, for a node that requires one. */
  token?: string;
  /** Rewrites each subscriber answer before it is sent (for tests of bad answers); `restarts`: restart offers so far. */
  transformAnswer?: (sdp: string, restarts: number) => string;
  /** Rewrites each publisher offer before it is sent (for tests of bad offers). */
  transformOffer?: (sdp: string) => string;
  /** Behave like a video receiver: NACK gaps, PLI when there is no picture (benchmarks). */
  feedback?: boolean;
  /** Where the one-way latency of what it receives goes; default `processLatency`. */
  latency?: LatencyHistogram;
  /** Behave like a browser's video sender: send packets again when the SFU NACKs them (as RTX when negotiated). */
  answerNacks?: boolean;
  /**
   * Start the subscriber connection with DTLS-SRTP even when its first offer
   * carries no media (default true, as browsers do). Without it libdatachannel
   * sets up DTLS without SRTP for a data-only first offer, and media added later never flows.
   */
  forceMediaTransport?: boolean;
  /** Hold subscriber offers while the subscriber connection connects (default true; the server does not need it). */
  holdOffers?: boolean;
}

export interface PublishOptions {
  audio?: boolean;
  video?: boolean | VideoCodec;
  /** Offer RTX for the video codec (payload type + 1), its SSRC in an a=ssrc-group:FID, as browsers do. */
  rtx?: boolean;
  /** The video m-line before the audio one (as GStreamer's webrtcbin offers them); audio first otherwise. */
  videoFirst?: boolean;
}

interface PublishedTrack {
  track: Track;
  source: RtpSource;
  rtcp: Buffer[];
  /** The RTX stream offered with it. */
  rtx?: RtxStream;
  /** With `answerNacks`: sends packets again. */
  responder?: NackResponder;
}

/**
 * A synthetic Shoal participant in Node: WebSocket signaling plus real
 * node-datachannel peer connections (ICE, DTLS, SRTP over UDP), publishing
 * RTP it makes up and recording everything it receives.
 */
export class MediaPeer {
  readonly signaling: SignalingClient;
  participantId = '';
  joined: ServerEvent | undefined;
  publisher: PeerConnection | undefined;
  subscriber: PeerConnection | undefined;
  readonly published = new Map<'audio' | 'video', PublishedTrack>();
  /** Tracks on the subscriber connection, by track id. */
  readonly received = new Map<string, ReceivedTrack>();
  /** mid → track id, from the latest subscriber offer. */
  private midToTrack = new Map<string, string>();
  /** mid → what its m-line in the latest subscriber offer says. */
  private mLines = new Map<string, { kind: string; rtxSsrc?: number }>();
  readonly subscriberOffers: ServerEvent[] = [];
  readonly channels = new Map<string, DataChannel>();
  readonly dataReceived: Array<{ channel: string; message: string | Buffer }> = [];
  private pendingCandidates = { publisher: [] as Array<[string, string]>, subscriber: [] as Array<[string, string]> };
  private generator: MediaGenerator | undefined;
  private publishOptions: PublishOptions | undefined;
  /** Ids of the subscriber offers applied and not answered yet, oldest first. */
  private answering: number[] = [];
  /** Subscriber offers received and not applied yet. */
  private offerQueue: ServerEvent[] = [];
  private closed = false;
  private mediaProfile: MediaProfile = TEST_PROFILE;
  /** Local failures (a candidate libdatachannel refused), kept for inspection. */
  readonly errors: Error[] = [];
  private readonly pendingTracks = new Map<string, Track>();
  /** The subscriber connection's tracks by mid: the server may reuse an m-line for another track. */
  private readonly subscriberTracks = new Map<string, Track>();
  /** mid → the track id the server gave the m-line in the latest publish answer. */
  private readonly publishedIds = new Map<string, string>();
  private publisherRtcpListener: ((kind: 'audio' | 'video', packet: Buffer) => void) | undefined;

  private constructor(
    readonly options: MediaPeerOptions,
    signaling: SignalingClient,
  ) {
    this.signaling = signaling;
    signaling.onMessage((event) => this.onSignal(event));
  }

  /** Connects and joins; resolves once joined (or rejects with the server's error). */
  static async join(options: MediaPeerOptions): Promise<MediaPeer> {
    const signaling = await SignalingClient.connect(options.url, options.encoding ?? 'binary');
    const peer = new MediaPeer(options, signaling);
    const reply = await signaling.request({
      join: { room: options.room, identity: options.identity, mustExist: options.mustExist ?? false, ...(options.token ? { token: options.token } : {}) },
    });
    if (reply.message !== 'joined') {
      signaling.close();
      throw new Error(`join failed: ${JSON.stringify(reply.error)}`);
    }
    peer.joined = reply;
    peer.participantId = (reply.joined as { participantId: string }).participantId;
    return peer;
  }

  /** Offers a publisher connection with the chosen tracks; resolves with the answer's track list. */
  async publish(options: PublishOptions = { audio: true, video: 'VP8' }): Promise<Array<{ mid: string; trackId: string }>> {
    this.publishOptions = options;
    const pc = new nodeDataChannel.PeerConnection(`${this.options.identity}-pub`, this.rtcConfig());
    this.publisher = pc;
    // Candidates go out once the answer is applied: the server (DTLS client) may otherwise reach this side
    // and start DTLS before libdatachannel knows the server's fingerprint, and the handshake fails.
    const heldCandidates: Array<[string, string]> = [];
    let answered = false;
    pc.onLocalCandidate(guarded((candidate, mid) => {
      if (answered) this.trickle(ConnectionRole.PUBLISHER, candidate, mid);
      else heldCandidates.push([candidate, mid]);
    }));
    const offer = new Promise<string>((resolve) => pc.onLocalDescription(guarded((sdp, type) => type === 'offer' && resolve(sdp))));
    const cname = this.options.identity;
    const addAudio = () => {
      const { payloadType, fmtp } = CLIENT_CODECS.opus;
      const audio = new nodeDataChannel.Audio('0', 'SendOnly');
      audio.addOpusCodec(payloadType, fmtp);
      const source = new RtpSource(randomSsrc(), payloadType, 48000);
      audio.addSSRC(source.ssrc, cname, cname, `${cname}-audio`);
      this.addPublishedTrack('audio', pc.addTrack(audio), source);
    };
    const addVideo = (codec: VideoCodec) => {
      const { payloadType, fmtp } = CLIENT_CODECS[codec];
      const video = new nodeDataChannel.Video('1', 'SendOnly');
      if (fmtp) video.addVideoCodec(payloadType, codec, fmtp);
      else video.addVideoCodec(payloadType, codec);
      const source = new RtpSource(randomSsrc(), payloadType, 90000);
      video.addSSRC(source.ssrc, cname, cname, `${cname}-video`);
      const rtx = options.rtx ? { ssrc: randomSsrc(), payloadType: payloadType + 1 } : undefined;
      if (rtx) {
        video.addRTXCodec(rtx.payloadType, payloadType, 90000);
        video.addSSRC(rtx.ssrc, cname, cname, `${cname}-video`);
        video.parseSdpLine(`a=ssrc-group:FID ${source.ssrc} ${rtx.ssrc}`);
      }
      this.addPublishedTrack('video', pc.addTrack(video), source, rtx);
    };
    const videoCodec = options.video === true ? 'VP8' : options.video;
    if (videoCodec && options.videoFirst) addVideo(videoCodec);
    if (options.audio) addAudio();
    if (videoCodec && !options.videoFirst) addVideo(videoCodec);
    pc.setLocalDescription();
    const sdp = await offer;
    const reply = await this.signaling.request({ publishOffer: { sdp: this.options.transformOffer?.(sdp) ?? sdp } });
    if (reply.message !== 'publishAnswer') throw new Error(`publish failed: ${JSON.stringify(reply.error)}`);
    const answer = reply.publishAnswer as { sdp: string; tracks: Array<{ mid: string; trackId: string }> };
    pc.setRemoteDescription(answer.sdp, 'answer');
    answered = true;
    for (const [candidate, mid] of heldCandidates.splice(0)) this.trickle(ConnectionRole.PUBLISHER, candidate, mid);
    this.flushCandidates('publisher');
    const video = this.published.get('video');
    if (video && this.options.answerNacks) {
      const rtx = answerKeepsRtx(answer.sdp, '1', video.rtx) ? video.rtx : undefined;
      video.responder = new NackResponder(video.source.ssrc, rtx, (packet) => this.sendOnTrack(video.track, packet));
    }
    // Published again on a new connection (the last one failed): the server named the tracks anew.
    for (const { mid, trackId } of answer.tracks) {
      const before = this.publishedIds.get(mid);
      if (before !== undefined && before !== trackId) republished.set(before, trackId);
      this.publishedIds.set(mid, trackId);
    }
    return answer.tracks;
  }

  /** Resolves when the publisher's tracks are open (DTLS done). */
  async waitPublisherConnected(timeoutMs = 10_000): Promise<void> {
    await waitUntil(() => [...this.published.values()].every((t) => t.track.isOpen()), timeoutMs, 'publisher tracks open');
  }

  /** Sends one RTP packet on a published track; returns false when the track is not open yet. */
  sendRtp(kind: 'audio' | 'video', payloadSize = kind === 'audio' ? 100 : 1100, marker = false, tsStep = kind === 'audio' ? 960 : 3000, keyframe = false): boolean {
    const published = this.published.get(kind);
    if (!published || !published.track.isOpen()) return false;
    const packet = published.source.next(payloadSize, { marker, tsStep, keyframe });
    published.responder?.onSent(packet);
    return this.sendOnTrack(published.track, packet);
  }

  private sendOnTrack(track: Track, packet: Buffer): boolean {
    try {
      return track.sendMessageBinary(packet);
    } catch {
      return false; // closed between the check and the send
    }
  }

  /**
   * Sends an RTCP sender report on a published track, as a sender's RTP stack
   * does: `rtpTimestamp` is the track's RTP time at `unixMs` (its NTP time).
   * Returns what it sent, or undefined when the track is not open.
   */
  sendSenderReport(kind: 'audio' | 'video', rtpTimestamp: number, unixMs: number): SenderInfo | undefined {
    const published = this.published.get(kind);
    if (!published?.track.isOpen()) return undefined;
    const { source } = published;
    const info = { ssrc: source.ssrc, ...ntpParts(ntpFromUnixMs(unixMs)), rtpTimestamp, packetCount: source.packetsMade, octetCount: 0 };
    try {
      return published.track.sendMessageBinary(buildSenderReport(info)) ? info : undefined;
    } catch {
      return undefined; // closed between the check and the send
    }
  }

  /** Sends media as an encoder would, by `profile`, until `stopMedia`; keyframes also on the SFU's PLIs. */
  startMedia(profile: MediaProfile = TEST_PROFILE): void {
    this.stopMedia();
    if (this.closed) return;
    this.mediaProfile = profile;
    const sending: MediaProfile = {
      ...(this.published.has('video') && profile.video ? { video: profile.video } : {}),
      ...(this.published.has('audio') && profile.audio ? { audio: profile.audio } : {}),
    };
    this.generator = new MediaGenerator(sending, (kind, size, opts) => this.sendRtp(kind, size, opts.marker, opts.tsStep, opts.keyframe));
    this.generator.start();
  }

  stopMedia(): void {
    this.generator?.stop();
    this.generator = undefined;
  }

  /** Calls `listener` with each RTCP packet the publisher receives from now on (besides keeping it). */
  onPublisherRtcp(listener: (kind: 'audio' | 'video', packet: Buffer) => void): void {
    this.publisherRtcpListener = listener;
  }

  /** RTCP the publisher received on one of its tracks (PLIs, REMB, receiver reports). */
  publisherRtcp(kind: 'audio' | 'video'): Buffer[] {
    return this.published.get(kind)?.rtcp ?? [];
  }

  /**
   * Resolves with the received track once it has at least `packets` packets.
   * A track its publisher (a MediaPeer of this process) published again under
   * a new id after its connection failed is followed to that id.
   */
  async waitForPackets(trackId: string, packets = 1, timeoutMs = 10_000): Promise<ReceivedTrack> {
    await waitUntil(
      () => (this.received.get(latestTrackId(trackId))?.packets ?? 0) >= packets,
      timeoutMs,
      () => `${packets} packets of ${trackId} at ${this.options.identity} (${this.describe()})`,
    );
    return this.received.get(latestTrackId(trackId))!;
  }

  /** The received track of `trackId`, followed to its latest id. */
  receivedTrack(trackId: string): ReceivedTrack | undefined {
    return this.received.get(latestTrackId(trackId));
  }

  /** The state of this peer's connections, for failure messages. */
  describe(): string {
    const tracks = [...this.received.values()].map((t) => `${t.trackId}@${t.mid}: ${t.packets} packets, ${t.track.isOpen() ? 'open' : 'not open'}`);
    const offers = this.subscriberOffers.map((o) => {
      const offer = o.subscriberOffer as { tracks: Array<{ mid: string }>; restart: boolean };
      return (offer.restart ? 'restart:' : '') + (offer.tracks.map((t) => t.mid).join('+') || '-');
    });
    return [
      `subscriber ${this.subscriber?.state() ?? 'none'}`,
      `offers [${offers.join(' | ')}]`,
      `pending mids [${[...this.pendingTracks.keys()].join(',')}]`,
      `tracks {${tracks.join('; ')}}`,
      `errors ${this.errors.length}`,
    ].join(', ');
  }

  /** Sends raw RTCP (a PLI, a NACK) to the server on the subscriber track of `trackId`. */
  sendSubscriberRtcp(trackId: string, packet: Buffer): boolean {
    const received = this.received.get(latestTrackId(trackId));
    try {
      return received ? received.track.sendMessageBinary(packet) : false;
    } catch {
      return false;
    }
  }

  /** Sends on one of the room's data channels ("reliable" or "unreliable"). */
  sendOnChannel(label: string, message: string | Buffer): boolean {
    const channel = this.channels.get(label);
    if (!channel || !channel.isOpen()) return false;
    return typeof message === 'string' ? channel.sendMessage(message) : channel.sendMessageBinary(message);
  }

  async waitForChannels(timeoutMs = 10_000): Promise<void> {
    await waitUntil(
      () => ['reliable', 'unreliable'].every((label) => this.channels.get(label)?.isOpen()),
      timeoutMs,
      `data channels of ${this.options.identity}`,
    );
  }

  async leave(): Promise<ServerEvent> {
    return this.signaling.request({ leave: {} });
  }

  /** Closes everything this peer holds (connections, tracks, socket). */
  close(): void {
    this.closed = true;
    this.dropConnections();
    this.signaling.close();
  }

  private dropConnections(): void {
    this.stopMedia();
    this.dropPublisher();
    this.dropSubscriber();
  }

  private dropPublisher(): void {
    for (const t of this.published.values()) t.track.close();
    this.published.clear();
    this.publisher?.close();
    this.publisher = undefined;
    this.pendingCandidates.publisher = [];
  }

  private dropSubscriber(): void {
    for (const t of this.received.values()) t.track.close();
    for (const t of this.pendingTracks.values()) t.close();
    for (const channel of this.channels.values()) channel.close();
    this.subscriber?.close();
    this.received.clear();
    this.pendingTracks.clear();
    this.subscriberTracks.clear();
    this.channels.clear();
    this.subscriber = undefined;
    this.pendingCandidates.subscriber = [];
    this.answering = [];
  }

  private addPublishedTrack(kind: 'audio' | 'video', track: Track, source: RtpSource, rtx?: PublishedTrack['rtx']): void {
    const published: PublishedTrack = { track: keepUntilClosed(track), source, rtcp: [], ...(rtx ? { rtx } : {}) };
    track.onMessage(guarded((packet) => {
      published.rtcp.push(packet);
      this.publisherRtcpListener?.(kind, packet);
      published.responder?.onRtcp(packet);
      if (published.rtcp.length > 10_000) published.rtcp.splice(0, 5_000);
      // Answer a keyframe request with a keyframe burst, as an encoder does.
      if (kind === 'video' && parseFeedback(packet).keyframe.includes(published.source.ssrc)) this.generator?.requestKeyframe();
    }));
    this.published.set(kind, published);
  }

  private rtcConfig() {
    return { iceServers: [], bindAddress: this.options.bindAddress ?? '127.0.0.1' };
  }

  private trickle(target: number, candidate: string, mid: string): void {
    this.signaling.send({ trickle: { target, candidate, sdpMid: mid } });
  }

  private onSignal(event: ServerEvent): void {
    const code = event.message === 'error' ? (event.error as { code: string }).code : undefined;
    if (code === 'WORKER_FAILED' || code === 'REPLACED' || code === 'SHUTTING_DOWN') {
      // The server dropped this participant: its connections are dead; a new join starts afresh.
      this.dropConnections();
      return;
    }
    const role = event.message === 'error' ? (event.error as { role: string }).role : '';
    // (A subscriber connection that failed for good is reported with the same code: nothing to publish again.)
    if (code === 'CONNECTION_FAILED' && role === 'PUBLISHER' && this.publishOptions && !this.closed) {
      // The publisher connection failed and its tracks are gone: publish again on a new one.
      const restartMedia = this.generator !== undefined;
      this.dropPublisher();
      this.publish(this.publishOptions)
        .then(async () => {
          if (!restartMedia) return;
          await this.waitPublisherConnected();
          this.startMedia(this.mediaProfile);
        })
        .catch((error: Error) => this.errors.push(error));
      return;
    }
    if (event.message === 'subscriberOffer') this.onSubscriberOffer(event);
    if (event.message === 'trickle') {
      const { target, candidate, sdpMid } = event.trickle as { target: string; candidate: string; sdpMid: string };
      const role = target === 'PUBLISHER' ? 'publisher' : 'subscriber';
      this.pendingCandidates[role].push([candidate, sdpMid]);
      this.flushCandidates(role);
    }
  }

  private flushCandidates(role: 'publisher' | 'subscriber'): void {
    const pc = role === 'publisher' ? this.publisher : this.subscriber;
    if (!pc || !pc.remoteDescription()) return;
    const pending = this.pendingCandidates[role];
    this.pendingCandidates[role] = [];
    for (const [candidate, mid] of pending) {
      try {
        pc.addRemoteCandidate(candidate, mid);
      } catch (error) {
        this.errors.push(error as Error);
      }
    }
  }

  private onSubscriberOffer(event: ServerEvent): void {
    this.subscriberOffers.push(event);
    if ((event.subscriberOffer as { restart: boolean }).restart) {
      // Everything before a restart belongs to the failed connection.
      this.offerQueue = [];
      this.dropSubscriber();
    }
    this.offerQueue.push(event);
    this.applyOffers();
  }

  /**
   * Applies queued offers in order. A renegotiation is held back while the
   * connection's DTLS handshake runs: libdatachannel sets up SCTP twice when an
   * offer lands in the moment DTLS completes, and the connection dies.
   */
  private applyOffers(): void {
    while (this.offerQueue.length > 0) {
      const state = this.subscriber?.state();
      const holding = this.options.holdOffers ?? true;
      if (holding && this.subscriber?.remoteDescription() && (state === 'new' || state === 'connecting')) return;
      this.applyOffer(this.offerQueue.shift()!);
    }
  }

  private applyOffer(event: ServerEvent): void {
    const offer = event.subscriberOffer as { sdp: string; tracks: Array<{ mid: string; trackId: string }>; offerId: number };
    this.midToTrack = new Map(offer.tracks.map((t) => [t.mid, t.trackId]));
    this.mLines = describeMLines(offer.sdp);
    if (!this.subscriber) {
      // The first offer may carry only data channels: DTLS-SRTP from the start, as browsers do.
      const pc = new nodeDataChannel.PeerConnection(`${this.options.identity}-sub`, {
        ...this.rtcConfig(),
        forceMediaTransport: this.options.forceMediaTransport ?? true,
      });
      this.subscriber = pc;
      pc.onLocalDescription(guarded((sdp, type) => {
        if (type !== 'answer') return;
        // libdatachannel answers the offers in the order they were applied.
        const offerId = this.answering.shift() ?? 0;
        const restarts = this.subscriberOffers.filter((o) => (o.subscriberOffer as { restart: boolean }).restart).length;
        this.signaling.send({ subscriberAnswer: { sdp: this.options.transformAnswer?.(sdp, restarts) ?? sdp, offerId } });
      }));
      pc.onLocalCandidate(guarded((candidate, mid) => this.trickle(ConnectionRole.SUBSCRIBER, candidate, mid)));
      pc.onStateChange(guarded(() => this.applyOffers()));
      pc.onTrack(guarded((track) => this.onTrack(track)));
      pc.onDataChannel(guarded((channel) => {
        this.channels.set(channel.getLabel(), keepUntilClosed(channel));
        channel.onMessage(guarded((message) => this.dataReceived.push({ channel: channel.getLabel(), message: message as string | Buffer })));
      }));
    }
    this.answering.push(offer.offerId);
    try {
      this.subscriber.setRemoteDescription(offer.sdp, 'offer');
    } catch (error) {
      this.answering.pop();
      // A connection that failed meanwhile; the server follows up with a restart offer.
      this.errors.push(error as Error);
      return;
    }
    this.flushCandidates('subscriber');
    // Tracks that arrived before the offer naming them was read; those it does not name are gone.
    for (const [mid, track] of this.pendingTracks) {
      if (!this.midToTrack.has(mid)) continue;
      this.pendingTracks.delete(mid);
      this.onTrack(track);
    }
    // An m-line that now carries another track: no new track event, the same Track goes on.
    for (const [mid, trackId] of this.midToTrack) {
      const track = this.subscriberTracks.get(mid);
      if (track && !this.received.has(trackId)) this.receive(track, mid, trackId);
    }
  }

  private onTrack(track: Track): void {
    keepUntilClosed(track);
    // A track whose m-line a later offer already removed: no callbacks on it (see keepUntilClosed).
    if (track.isClosed()) return;
    const mid = track.mid();
    const trackId = this.midToTrack.get(mid);
    if (!trackId) {
      this.pendingTracks.set(mid, track);
      track.onMessage(() => undefined);
      return;
    }
    this.subscriberTracks.set(mid, track);
    this.receive(track, mid, trackId);
  }

  /** Counts what `track` (m-line `mid`) receives as track `trackId` from now on. */
  private receive(track: Track, mid: string, trackId: string): void {
    const line = this.mLines.get(mid);
    const received = new ReceivedTrack(
      trackId,
      mid,
      track,
      this.options.latency ?? processLatency,
      line?.rtxSsrc,
      this.options.feedback ?? false,
      line?.kind === 'video',
    );
    this.received.set(trackId, received);
    track.onMessage(guarded((packet) => received.onPacket(packet)));
  }
}

/** Kind and RTX SSRC (from the FID group) of every m-line of an SDP, by mid. */
function describeMLines(text: string): Map<string, { kind: string; rtxSsrc?: number }> {
  const lines = new Map<string, { kind: string; rtxSsrc?: number }>();
  for (const media of parseSdp(text).media) {
    const mid = mediaMid(media);
    if (mid === undefined) continue;
    const fid = attributes(media.lines, 'ssrc-group').find((v) => v.startsWith('FID '));
    const rtx = fid ? Number(fid.split(' ')[2]) : undefined;
    lines.set(mid, { kind: media.kind, ...(rtx !== undefined && Number.isFinite(rtx) ? { rtxSsrc: rtx } : {}) });
  }
  return lines;
}

function randomSsrc(): number {
  return randomInt(1, 0xffffffff);
}

export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
