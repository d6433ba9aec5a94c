import { randomInt } from 'node:crypto';
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { guarded } from '../../media/binding/guard-callbacks.js';
import { keepUntilClosed } from '../../media/binding/keep-until-closed.js';
import { parseFeedback } from '../../media/rtp/rtcp.js';
import { attribute, attributes, mediaMid, parseSdp } from '../../media/sdp/sdp.js';
import { CLIENT_CODECS, processLatency, waitUntil } from '../../bench/client/media-peer.js';
import { MediaGenerator } from '../../bench/client/media-generator.js';
import { TEST_PROFILE } from '../../bench/client/media-profile.js';
import { ReceivedTrack } from '../../bench/client/received-track.js';
import { RtpSource } from '../../bench/client/rtp-source.js';

/**
 * WHIP and WHEP clients on node-datachannel for tests: real ICE, DTLS and
 * SRTP over UDP on 127.0.0.1, signaled with plain `fetch` as RFC 9725 and the
 * WHEP draft say. `trickle`: the offer goes out at once, without candidates,
 * and the candidates follow in one PATCH once the session's URL is known (as
 * browsers' WHIP clients do); otherwise the offer waits for the end of ICE
 * gathering and carries every candidate (as OBS and GStreamer do), and no
 * PATCH is ever sent. `candidates: false` with `trickle: false`: a client that
 * sends none at all (the server finds it from its connectivity checks).
 */
export interface WhipClientOptions {
  token?: string;
  trickle?: boolean;
  candidates?: boolean;
  audio?: boolean;
  video?: boolean;
  /** The fetch of every request (the global one when not given): e.g. one trusting a test CA for https. */
  fetch?: typeof fetch;
}

/** What the POST answered. */
export interface WhipResponse {
  status: number;
  headers: Headers;
  body: string;
}

abstract class WhipClientBase {
  location = '';
  etag = '';
  response: WhipResponse | undefined;
  private pendingCandidates: Array<[string, string]> = [];
  private sentCandidates = false;
  closed = false;

  protected constructor(
    readonly pc: PeerConnection,
    readonly endpoint: string,
    readonly options: WhipClientOptions,
  ) {
    pc.onLocalCandidate(guarded((candidate, mid) => {
      this.pendingCandidates.push([candidate, mid]);
    }));
  }

  /** Makes the offer, POSTs it and applies the answer; resolves with the POST's response (any status). */
  protected async negotiate(): Promise<WhipResponse> {
    const trickle = this.options.trickle ?? true;
    const offer = new Promise<string>((resolve) => this.pc.onLocalDescription(guarded((sdp, type) => type === 'offer' && resolve(sdp))));
    this.pc.setLocalDescription();
    let sdp = await offer;
    if (!trickle) {
      await waitUntil(() => this.pc.gatheringState() === 'complete', 5000, 'client ICE gathering');
      sdp = this.pc.localDescription()!.sdp;
      if (this.options.candidates === false) sdp = sdp.replace(/^a=(candidate:|end-of-candidates).*\r\n/gm, '');
    }
    const headers: Record<string, string> = { 'content-type': 'application/sdp' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const fetched = await (this.options.fetch ?? fetch)(this.endpoint, { method: 'POST', headers, body: sdp });
    const response = { status: fetched.status, headers: fetched.headers, body: await fetched.text() };
    this.response = response;
    if (response.status !== 201) return response;
    this.location = new URL(response.headers.get('location')!, this.endpoint).href;
    this.etag = response.headers.get('etag') ?? '';
    this.onAnswer(response.body);
    this.pc.setRemoteDescription(response.body, 'answer');
    if (trickle) await this.trickle();
    return response;
  }

  /** The server's answer, before it is applied. */
  protected onAnswer(answer: string): void {
    void answer;
  }

  /**
   * Negotiates, and for a 201 waits until the connection is up. A connection
   * that fails instead (libdatachannel's loopback race, see docs/signaling.md
   * 6.11: the server, which knows this client's candidates from the offer,
   * starts ICE and DTLS while the answer is being applied) is given up, its
   * session deleted, and the client tries again with a new one, as a real
   * client would: at most three attempts.
   */
  protected static async connect<T extends WhipClientBase>(make: () => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = make();
      let failure: unknown;
      try {
        const response = await client.negotiate();
        if (response.status !== 201) return client;
        await waitUntil(() => ['connected', 'failed', 'closed'].includes(client.pc.state()), 10_000, `${client.constructor.name} connected or failed`);
        if (client.pc.state() === 'connected') return client;
        failure = new Error(`connection ${client.pc.state()}`);
      } catch (error) {
        failure = error;
      }
      if (client.location) await client.delete().catch(() => 0);
      client.close();
      if (attempt === 3) throw failure;
    }
  }

  /** PATCHes the candidates gathered so far (and those that come within a moment) as one SDP fragment. */
  private async trickle(): Promise<void> {
    await waitUntil(() => this.pc.gatheringState() === 'complete', 5000, 'client ICE gathering');
    const local = parseSdp(this.pc.localDescription()!.sdp);
    const first = local.media[0]!;
    const ufrag = attribute(first.lines, 'ice-ufrag') ?? attribute(local.session, 'ice-ufrag');
    const pwd = attribute(first.lines, 'ice-pwd') ?? attribute(local.session, 'ice-pwd');
    const lines = [`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, `m=${first.kind} 9 ${first.protocol} ${first.formats.join(' ')}`, `a=mid:${mediaMid(first)}`];
    for (const [candidate] of this.pendingCandidates) lines.push(`a=${candidate}`);
    lines.push('a=end-of-candidates');
    this.pendingCandidates = [];
    const response = await this.patch(lines.join('\r\n') + '\r\n');
    if (response.status !== 204) throw new Error(`trickle PATCH answered ${response.status}: ${await response.text()}`);
    this.sentCandidates = true;
  }

  /** A PATCH on the session with `fragment` (If-Match: its ETag unless told otherwise). */
  patch(fragment: string, ifMatch: string | undefined = this.etag, contentType = 'application/trickle-ice-sdpfrag'): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': contentType };
    if (ifMatch !== undefined) headers['if-match'] = ifMatch;
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    return (this.options.fetch ?? fetch)(this.location, { method: 'PATCH', headers, body: fragment });
  }

  get trickled(): boolean {
    return this.sentCandidates;
  }

  async waitConnected(timeoutMs = 10_000): Promise<void> {
    await waitUntil(() => this.pc.state() === 'connected', timeoutMs, `${this.constructor.name} connected (state ${this.pc.state()})`);
  }

  /** DELETE on the session; resolves with the status. */
  async delete(): Promise<number> {
    const headers: Record<string, string> = {};
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const response = await (this.options.fetch ?? fetch)(this.location, { method: 'DELETE', headers });
    await response.arrayBuffer();
    return response.status;
  }

  close(): void {
    this.closed = true;
    this.closeTracks();
    this.pc.close();
  }

  protected abstract closeTracks(): void;
}

/** A WHIP publisher: Opus audio and VP8 video of synthetic RTP (bench/client/RtpSource). */
export class WhipPublisher extends WhipClientBase {
  readonly tracks = new Map<'audio' | 'video', { track: Track; source: RtpSource; rtcp: Buffer[] }>();
  private generator: MediaGenerator | undefined;

  private constructor(endpoint: string, options: WhipClientOptions) {
    super(new nodeDataChannel.PeerConnection('whip-client', { iceServers: [], bindAddress: '127.0.0.1' }), endpoint, options);
    const cname = `whip-${randomInt(1e6)}`;
    if (options.audio ?? true) {
      const audio = new nodeDataChannel.Audio('0', 'SendOnly');
      audio.addOpusCodec(CLIENT_CODECS.opus.payloadType, CLIENT_CODECS.opus.fmtp);
      const source = new RtpSource(randomSsrc(), CLIENT_CODECS.opus.payloadType, 48000);
      audio.addSSRC(source.ssrc, cname, cname, `${cname}-audio`);
      this.addTrack('audio', this.pc.addTrack(audio), source);
    }
    if (options.video ?? true) {
      const video = new nodeDataChannel.Video('1', 'SendOnly');
      video.addVideoCodec(CLIENT_CODECS.VP8.payloadType, 'VP8');
      const source = new RtpSource(randomSsrc(), CLIENT_CODECS.VP8.payloadType, 90000);
      video.addSSRC(source.ssrc, cname, cname, `${cname}-video`);
      this.addTrack('video', this.pc.addTrack(video), source);
    }
  }

  /** POSTs an offer to `endpoint` (…/whip/ROOM); resolves with the client whatever the status (see `response`), connected after a 201. */
  static publish(endpoint: string, options: WhipClientOptions = {}): Promise<WhipPublisher> {
    return WhipClientBase.connect(() => new WhipPublisher(endpoint, options));
  }

  /** Sends media like an encoder (TEST_PROFILE), keyframes on PLIs too, until `close`. */
  async startMedia(): Promise<void> {
    await waitUntil(() => [...this.tracks.values()].every((t) => t.track.isOpen()), 10_000, 'WHIP client tracks open');
    this.generator = new MediaGenerator(TEST_PROFILE, (kind, size, opts) => {
      const sending = this.tracks.get(kind);
      if (!sending?.track.isOpen()) return;
      try {
        sending.track.sendMessageBinary(sending.source.next(size, opts));
      } catch {
        // closed meanwhile
      }
    });
    this.generator.start();
  }

  stopMedia(): void {
    this.generator?.stop();
    this.generator = undefined;
  }

  protected closeTracks(): void {
    this.stopMedia();
    for (const { track } of this.tracks.values()) track.close();
  }

  private addTrack(kind: 'audio' | 'video', track: Track, source: RtpSource): void {
    const sending = { track: keepUntilClosed(track), source, rtcp: [] as Buffer[] };
    track.onMessage(guarded((packet) => {
      sending.rtcp.push(packet);
      if (sending.rtcp.length > 5000) sending.rtcp.splice(0, 2500);
      if (kind === 'video' && parseFeedback(packet).keyframe.includes(source.ssrc)) this.generator?.requestKeyframe();
    }));
    this.tracks.set(kind, sending);
  }
}

/** A WHEP viewer: recvonly Opus and VP8 m-lines; counts what each receives (bench/client/ReceivedTrack). */
export class WhepViewer extends WhipClientBase {
  readonly received = new Map<'audio' | 'video', ReceivedTrack>();
  private readonly tracks = new Map<'audio' | 'video', Track>();

  private constructor(endpoint: string, options: WhipClientOptions) {
    super(new nodeDataChannel.PeerConnection('whep-client', { iceServers: [], bindAddress: '127.0.0.1' }), endpoint, options);
    if (options.audio ?? true) {
      const audio = new nodeDataChannel.Audio('0', 'RecvOnly');
      audio.addOpusCodec(CLIENT_CODECS.opus.payloadType, CLIENT_CODECS.opus.fmtp);
      this.tracks.set('audio', keepUntilClosed(this.pc.addTrack(audio)));
    }
    if (options.video ?? true) {
      const video = new nodeDataChannel.Video('1', 'RecvOnly');
      video.addVideoCodec(CLIENT_CODECS.VP8.payloadType, 'VP8');
      video.addRTXCodec(97, CLIENT_CODECS.VP8.payloadType, 90000);
      this.tracks.set('video', keepUntilClosed(this.pc.addTrack(video)));
    }
  }

  /** POSTs a recvonly offer to `endpoint` (…/whep/ROOM[?identity=]); resolves with the client whatever the status, connected after a 201. */
  static view(endpoint: string, options: WhipClientOptions = {}): Promise<WhepViewer> {
    return WhipClientBase.connect(() => new WhepViewer(endpoint, options));
  }

  async waitForPackets(kind: 'audio' | 'video', packets: number, timeoutMs = 10_000): Promise<ReceivedTrack> {
    await waitUntil(() => (this.received.get(kind)?.packets ?? 0) >= packets, timeoutMs, () => `${packets} ${kind} packets at the WHEP viewer (has ${this.received.get(kind)?.packets ?? 0}, ${this.pc.state()})`);
    return this.received.get(kind)!;
  }

  protected closeTracks(): void {
    for (const track of this.tracks.values()) track.close();
  }

  /** Counts each m-line's packets; its RTX SSRC is read from the answer. */
  protected override onAnswer(answer: string): void {
    const sdp = parseSdp(answer);
    for (const [kind, track] of this.tracks) {
      const media = sdp.media.find((m) => mediaMid(m) === track.mid());
      const fid = media ? attributes(media.lines, 'ssrc-group').find((v) => v.startsWith('FID ')) : undefined;
      const rtxSsrc = fid ? Number(fid.split(' ')[2]) : undefined;
      const received = new ReceivedTrack(`whep-${kind}`, track.mid(), track, processLatency, rtxSsrc, kind === 'video', kind === 'video');
      this.received.set(kind, received);
      track.onMessage(guarded((packet) => received.onPacket(packet)));
    }
  }
}

function randomSsrc(): number {
  return randomInt(1, 0xffffffff);
}
