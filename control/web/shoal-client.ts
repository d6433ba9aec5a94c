/**
 * Shoal browser client: joins a room over the signaling WebSocket, publishes
 * local media and receives everyone else's. An ES module with no dependencies;
 * serve it as `/shoal-client.js`.
 *
 * ```js
 * import { ShoalClient } from '/shoal-client.js';
 * const client = await ShoalClient.connect(`wss://${location.host}/ws`);
 * client.on('trackadded', ({ participantId, identity, kind, track }) => { ... });
 * client.on('trackremoved', ({ trackId }) => { ... });
 * client.on('data', ({ fromIdentity, text }) => { ... });
 * await client.join('room', 'alice');
 * await client.publish(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
 * client.sendData('hello');
 * await client.leave();
 * client.close();
 * ```
 *
 * A participant has two connections: `publisherPc` (this side offers its
 * tracks, sendonly) and `subscriberPc` (the server offers one m-line per
 * track of the others, plus the room's data channels, and offers again
 * whenever tracks come or go). Both are exposed for `getStats()`.
 * The protocol is proto/signaling.proto in canonical proto3 JSON.
 */

export type TrackKind = 'audio' | 'video';

export interface ParticipantInfo {
  participantId: string;
  identity: string;
}

/** A track of another participant, arriving on the subscriber connection. */
export interface RemoteTrack {
  trackId: string;
  participantId: string;
  identity: string;
  kind: TrackKind;
  /** MIME type of the forwarded codec ("video/VP8"), when the server announced the track. */
  codec: string;
  /** The m-line of the subscriber connection carrying it. */
  mid: string;
  track: MediaStreamTrack;
  /** The publisher's stream: its id is the publisher's participant id. */
  stream: MediaStream;
}

/** A track this client publishes, as the server named it. */
export interface PublishedTrack {
  trackId: string;
  mid: string;
  track: MediaStreamTrack | null;
}

export interface ReceivedData {
  fromParticipantId: string;
  fromIdentity: string;
  text?: string;
  /** A binary payload (it travels as base64 in JSON, on the data channel or the WebSocket). */
  binary?: Uint8Array;
  unreliable: boolean;
  via: 'datachannel' | 'websocket';
}

export interface JoinedRoom {
  room: string;
  participantId: string;
  identity: string;
  participants: ParticipantInfo[];
}

/** Events, with the `detail` each one carries. */
export interface ShoalEventMap {
  trackadded: RemoteTrack;
  trackremoved: RemoteTrack;
  participantjoined: ParticipantInfo;
  participantleft: ParticipantInfo;
  data: ReceivedData;
  /** Errors the server reports outside a request, and failures of background work (renegotiation). */
  error: ShoalError;
  /** The signaling WebSocket closed. */
  close: { code: number; reason: string };
}

/** An error from the server (`code` is an ErrorCode name, e.g. "INVALID_NAME") or from this client. */
export class ShoalError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ShoalError';
  }
}

// The parts of the wire messages this client reads. Default values are omitted on the wire.
type Role = 'PUBLISHER' | 'SUBSCRIBER';
interface WireTrack {
  trackId: string;
  participantId?: string;
  identity?: string;
  kind?: 'AUDIO' | 'VIDEO';
  codec?: string;
}
interface TrackMid {
  mid: string;
  trackId: string;
}
interface WireData {
  fromParticipantId?: string;
  fromIdentity?: string;
  text?: string;
  binary?: string;
  unreliable?: boolean;
}
interface ServerMessage {
  requestId?: number;
  joined?: { room: string; participantId: string; identity: string; participants?: ParticipantInfo[]; tracks?: WireTrack[] };
  publishAnswer?: { sdp: string; tracks?: TrackMid[] };
  subscriberOffer?: { sdp: string; tracks?: TrackMid[]; restart?: boolean; offerId?: number };
  trickle?: { target?: Role; candidate?: string; sdpMid?: string };
  participantJoined?: { participant: ParticipantInfo };
  participantLeft?: { participantId: string; identity?: string };
  trackPublished?: { track: WireTrack };
  trackUnpublished?: { trackId: string };
  data?: WireData;
  error?: { code?: string; message?: string; role?: 'PUBLISHER' | 'SUBSCRIBER' };
  left?: { reason?: string };
}

const RTC_CONFIG: RTCConfiguration = { iceServers: [], bundlePolicy: 'max-bundle' };
const REQUEST_TIMEOUT_MS = 15_000;
/** Errors after which the server has already removed this participant. */
const REMOVED_CODES = new Set(['REPLACED', 'WORKER_FAILED']);

export class ShoalClient extends EventTarget {
  /** Set after `join`. */
  participantId = '';
  identity = '';
  room = '';
  /** The connection carrying this client's media; created by the first `publish`. */
  publisherPc: RTCPeerConnection | undefined;
  /** The connection carrying the others' media and the data channels; created by the server's first offer. */
  subscriberPc: RTCPeerConnection | undefined;
  /** Everyone else in the room, by participant id. */
  readonly participants = new Map<string, ParticipantInfo>();
  /** Tracks received now, by track id. */
  readonly remoteTracks = new Map<string, RemoteTrack>();
  /** Tracks published now. */
  published: PublishedTrack[] = [];
  /** Streams passed to `publish`, published again if the publisher connection fails. */
  private publishedStreams: MediaStream[] = [];

  private nextRequestId = 1;
  private readonly pending = new Map<number, { resolve: (m: ServerMessage) => void; reject: (e: ShoalError) => void }>();
  /** Every track announced in the room, by track id (for participant and codec of received tracks). */
  private readonly roomTracks = new Map<string, WireTrack>();
  private readonly remoteCandidates: Record<Role, RTCIceCandidateInit[]> = { PUBLISHER: [], SUBSCRIBER: [] };
  private readonly streams = new WeakMap<RTCRtpTransceiver, MediaStream>();
  private readonly channels = new Map<string, RTCDataChannel>();
  /** Negotiations of each connection run one after another. */
  private publisherQueue: Promise<unknown> = Promise.resolve();
  private subscriberQueue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly ws: WebSocket) {
    super();
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') this.onMessage(JSON.parse(event.data) as ServerMessage);
    };
    ws.onclose = (event) => {
      for (const { reject } of this.pending.values()) reject(new ShoalError('CLOSED', 'signaling connection closed'));
      this.pending.clear();
      this.resetMedia();
      this.emit('close', { code: event.code, reason: event.reason });
    };
  }

  /** Opens the signaling WebSocket (`ws(s)://host/ws`). */
  static connect(url: string): Promise<ShoalClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new ShoalClient(ws));
      ws.onerror = () => reject(new ShoalError('CLOSED', `cannot connect to ${url}`));
    });
  }

  /** Listens to one event type; returns a function that stops listening. */
  on<K extends keyof ShoalEventMap>(type: K, listener: (detail: ShoalEventMap[K]) => void): () => void {
    const wrapped = (event: Event) => listener((event as CustomEvent<ShoalEventMap[K]>).detail);
    this.addEventListener(type, wrapped);
    return () => this.removeEventListener(type, wrapped);
  }

  /**
   * Enters a room (created when missing). Room and identity: 1 to 64 of [A-Za-z0-9_-]. A node with
   * auth needs `token` (docs/security.md); the identity is then the token's (pass it, or "").
   */
  async join(room: string, identity: string, options: { token?: string; mustExist?: boolean } = {}): Promise<JoinedRoom> {
    const reply = await this.request({ join: { room, identity, ...options } });
    const joined = reply.joined!;
    return { room: joined.room, participantId: joined.participantId, identity: joined.identity, participants: joined.participants ?? [] };
  }

  /**
   * Publishes every track of `stream` (one sendonly transceiver each) and
   * renegotiates the publisher connection. Resolves once the server answered.
   */
  publish(stream: MediaStream): Promise<PublishedTrack[]> {
    if (!this.publishedStreams.includes(stream)) this.publishedStreams.push(stream);
    const pc = (this.publisherPc ??= this.createPeerConnection('PUBLISHER'));
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    return this.negotiatePublisher();
  }

  /** Stops publishing one track (the track itself keeps running). */
  unpublish(track: MediaStreamTrack): Promise<PublishedTrack[]> {
    const pc = this.publisherPc;
    const sender = pc?.getSenders().find((s) => s.track === track);
    if (!pc || !sender) return Promise.resolve(this.published);
    pc.removeTrack(sender);
    return this.negotiatePublisher();
  }

  /**
   * Sends text to the others in the room (or only to `to` identities): on
   * the room's data channel when it is open, else over the WebSocket.
   * Returns the way it went.
   */
  sendData(text: string, options: { unreliable?: boolean; to?: string[] } = {}): 'datachannel' | 'websocket' {
    const message = { text, ...(options.unreliable ? { unreliable: true } : {}), ...(options.to?.length ? { toIdentities: options.to } : {}) };
    const channel = this.channels.get(options.unreliable ? 'unreliable' : 'reliable');
    if (channel?.readyState === 'open') {
      channel.send(JSON.stringify(message));
      return 'datachannel';
    }
    this.send({ data: message });
    return 'websocket';
  }

  /** Leaves the room and closes both connections; the WebSocket stays open for another `join`. */
  async leave(): Promise<void> {
    try {
      await this.request({ leave: {} });
    } finally {
      this.resetMedia();
    }
  }

  /** Closes everything. Local tracks passed to `publish` are not stopped. */
  close(): void {
    this.resetMedia();
    this.ws.close();
  }

  /** The data channel with this label ("reliable" or "unreliable"), once the server opened it. */
  dataChannel(label: 'reliable' | 'unreliable'): RTCDataChannel | undefined {
    return this.channels.get(label);
  }

  private emit<K extends keyof ShoalEventMap>(type: K, detail: ShoalEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  private send(message: object): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** Sends with a fresh request id; resolves with the reply, rejects with the server's error. */
  private request(message: object): Promise<ServerMessage> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        reject(new ShoalError('CLOSED', 'signaling connection closed'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new ShoalError('TIMEOUT', `no reply to ${Object.keys(message)[0]} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        fn(value);
      };
      this.pending.set(requestId, { resolve: settle(resolve), reject: settle(reject) });
      this.send({ requestId, ...message });
    });
  }

  private onMessage(message: ServerMessage): void {
    const reply = message.requestId ? this.pending.get(message.requestId) : undefined;
    if (reply) this.pending.delete(message.requestId!);
    if (message.error) {
      const error = new ShoalError(message.error.code ?? 'ERROR_CODE_UNSPECIFIED', message.error.message ?? '');
      if (REMOVED_CODES.has(error.code)) this.resetMedia();
      // A failed subscriber connection cannot be published again: the app may leave and join again.
      if (error.code === 'CONNECTION_FAILED' && message.error.role === 'PUBLISHER') this.republish();
      if (reply) reply.reject(error);
      else this.emit('error', error);
      return;
    }
    if (message.joined) this.onJoined(message.joined);
    else if (message.subscriberOffer) this.onSubscriberOffer(message.subscriberOffer);
    else if (message.trickle) this.onRemoteCandidate(message.trickle);
    else if (message.participantJoined) {
      const p = message.participantJoined.participant;
      this.participants.set(p.participantId, p);
      this.emit('participantjoined', p);
    } else if (message.participantLeft) {
      const { participantId, identity = '' } = message.participantLeft;
      this.participants.delete(participantId);
      this.emit('participantleft', { participantId, identity });
    } else if (message.trackPublished) {
      this.roomTracks.set(message.trackPublished.track.trackId, message.trackPublished.track);
    } else if (message.trackUnpublished) {
      this.roomTracks.delete(message.trackUnpublished.trackId);
    } else if (message.data) {
      this.emit('data', toReceivedData(message.data, 'websocket'));
    }
    reply?.resolve(message);
  }

  private onJoined(joined: NonNullable<ServerMessage['joined']>): void {
    this.room = joined.room;
    this.participantId = joined.participantId;
    this.identity = joined.identity;
    for (const p of joined.participants ?? []) this.participants.set(p.participantId, p);
    for (const t of joined.tracks ?? []) this.roomTracks.set(t.trackId, t);
  }

  private createPeerConnection(role: Role): RTCPeerConnection {
    const pc = new RTCPeerConnection(RTC_CONFIG);
    pc.onicecandidate = ({ candidate }) => {
      // A null or empty candidate ends gathering; the server needs no notice of that.
      if (candidate?.candidate) this.send({ trickle: { target: role, candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? '' } });
    };
    if (role === 'SUBSCRIBER') {
      pc.ontrack = ({ transceiver, streams }) => {
        if (streams[0]) this.streams.set(transceiver, streams[0]);
      };
      pc.ondatachannel = ({ channel }) => {
        this.channels.set(channel.label, channel);
        channel.onmessage = ({ data }) => {
          if (typeof data === 'string') this.emit('data', toReceivedData(JSON.parse(data) as WireData, 'datachannel'));
        };
      };
    }
    return pc;
  }

  /** Runs `task` after every earlier negotiation of that connection; failures reject the result only. */
  private serialize<T>(role: Role, task: () => Promise<T>): Promise<T> {
    const queue = role === 'PUBLISHER' ? this.publisherQueue : this.subscriberQueue;
    const result = queue.then(task);
    const settled = result.catch(() => undefined);
    if (role === 'PUBLISHER') this.publisherQueue = settled;
    else this.subscriberQueue = settled;
    return result;
  }

  private negotiatePublisher(): Promise<PublishedTrack[]> {
    return this.serialize('PUBLISHER', async () => {
      const pc = this.publisherPc;
      if (!pc) throw new ShoalError('CLOSED', 'the publisher connection is closed');
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const reply = await this.request({ publishOffer: { sdp: offer.sdp } });
      const answer = reply.publishAnswer!;
      if (pc.signalingState === 'closed') throw new ShoalError('CLOSED', 'the publisher connection is closed');
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      await this.flushCandidates('PUBLISHER');
      const byMid = new Map(pc.getTransceivers().map((t) => [t.mid, t.sender.track]));
      this.published = (answer.tracks ?? []).map(({ mid, trackId }) => ({ mid, trackId, track: byMid.get(mid) ?? null }));
      return this.published;
    });
  }

  /** Every subscriber offer is answered in turn; the remote track set then follows the offer's track list. */
  private onSubscriberOffer(offer: NonNullable<ServerMessage['subscriberOffer']>): void {
    if (!this.participantId) return; // an offer still in flight when this client left
    this.serialize('SUBSCRIBER', async () => {
      if (offer.restart) this.dropSubscriber();
      const pc = (this.subscriberPc ??= this.createPeerConnection('SUBSCRIBER'));
      await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      await this.flushCandidates('SUBSCRIBER');
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.send({ subscriberAnswer: { sdp: answer.sdp, offerId: offer.offerId ?? 0 } });
      this.updateRemoteTracks(pc, offer.tracks ?? []);
    }).catch((error: unknown) => {
      if (this.subscriberPc) this.emit('error', new ShoalError('NEGOTIATION_FAILED', `subscriber offer: ${String(error)}`));
    });
  }

  private updateRemoteTracks(pc: RTCPeerConnection, tracks: TrackMid[]): void {
    if (pc !== this.subscriberPc) return;
    const trackIdByMid = new Map(tracks.map((t) => [t.mid, t.trackId]));
    const present = new Set<string>();
    for (const transceiver of pc.getTransceivers()) {
      const mid = transceiver.mid;
      const trackId = mid === null ? undefined : trackIdByMid.get(mid);
      if (mid === null || trackId === undefined) continue;
      present.add(trackId);
      if (this.remoteTracks.has(trackId)) continue;
      const track = transceiver.receiver.track;
      const stream = this.streams.get(transceiver) ?? new MediaStream([track]);
      const announced = this.roomTracks.get(trackId);
      const participantId = announced?.participantId ?? stream.id;
      const remote: RemoteTrack = {
        trackId,
        participantId,
        identity: announced?.identity ?? this.participants.get(participantId)?.identity ?? '',
        kind: track.kind === 'audio' ? 'audio' : 'video',
        codec: announced?.codec ?? '',
        mid,
        track,
        stream,
      };
      this.remoteTracks.set(trackId, remote);
      this.emit('trackadded', remote);
    }
    for (const [trackId, remote] of this.remoteTracks) {
      if (present.has(trackId)) continue;
      this.remoteTracks.delete(trackId);
      this.emit('trackremoved', remote);
    }
  }

  /** Server candidates wait until the connection they belong to has its remote description. */
  private onRemoteCandidate({ target, candidate, sdpMid }: NonNullable<ServerMessage['trickle']>): void {
    if (!candidate || (target !== 'PUBLISHER' && target !== 'SUBSCRIBER')) return;
    this.remoteCandidates[target].push({ candidate, sdpMid: sdpMid ?? '' });
    // On the subscriber connection, wait for the offer being applied (it flushes afterwards).
    if (target === 'PUBLISHER') void this.flushCandidates(target);
    else void this.serialize('SUBSCRIBER', () => this.flushCandidates('SUBSCRIBER'));
  }

  private async flushCandidates(role: Role): Promise<void> {
    const pc = role === 'PUBLISHER' ? this.publisherPc : this.subscriberPc;
    if (!pc?.remoteDescription || pc.signalingState === 'closed') return;
    const candidates = this.remoteCandidates[role].splice(0);
    for (const candidate of candidates) {
      await pc.addIceCandidate(candidate).catch((error: unknown) => {
        this.emit('error', new ShoalError('BAD_CANDIDATE', `${candidate.candidate}: ${String(error)}`));
      });
    }
  }

  /** The server closed the failed publisher connection and unpublished its tracks: publish them again on a new one. */
  private republish(): void {
    this.publisherPc?.close();
    this.publisherPc = undefined;
    this.published = [];
    this.remoteCandidates.PUBLISHER = [];
    for (const stream of this.publishedStreams) {
      this.publish(stream).catch((error: unknown) => this.emit('error', new ShoalError('NEGOTIATION_FAILED', `publishing again: ${String(error)}`)));
    }
  }

  /** Drops the subscriber connection and the tracks it carried (before a restart offer, or when leaving). */
  private dropSubscriber(): void {
    this.subscriberPc?.close();
    this.subscriberPc = undefined;
    this.channels.clear();
    const removed = [...this.remoteTracks.values()];
    this.remoteTracks.clear();
    for (const remote of removed) this.emit('trackremoved', remote);
  }

  /** Drops both connections and everything received on them (after leave, removal or close). */
  private resetMedia(): void {
    this.participantId = '';
    this.publisherPc?.close();
    this.publisherPc = undefined;
    this.published = [];
    this.publishedStreams = [];
    this.participants.clear();
    this.roomTracks.clear();
    this.remoteCandidates.PUBLISHER = [];
    this.remoteCandidates.SUBSCRIBER = [];
    this.dropSubscriber();
  }
}

function toReceivedData(data: WireData, via: ReceivedData['via']): ReceivedData {
  return {
    fromParticipantId: data.fromParticipantId ?? '',
    fromIdentity: data.fromIdentity ?? '',
    ...(data.text !== undefined ? { text: data.text } : {}),
    ...(data.binary !== undefined ? { binary: Uint8Array.from(atob(data.binary), (c) => c.charCodeAt(0)) } : {}),
    unreliable: data.unreliable ?? false,
    via,
  };
}
