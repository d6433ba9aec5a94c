/**
 * Shoal browser client: joins a room over the signaling WebSocket, publishes
 * local media and receives everyone else's, and rejoins by itself through
 * another node when its node is lost. ES modules with no dependencies: serve
 * `/shoal-client.js` with the two modules it imports beside it
 * (`/signaling-connection.js`, `/reconnect-policy.js`).
 *
 * ```js
 * import { ShoalClient } from '/shoal-client.js';
 * const client = await ShoalClient.connect(['wss://node1.example/ws', 'wss://node2.example/ws']);
 * client.on('trackadded', ({ participantId, identity, kind, track }) => { ... });
 * client.on('trackremoved', ({ trackId }) => { ... });
 * client.on('data', ({ fromIdentity, text }) => { ... });
 * client.on('reconnecting', ({ reason, attempt, url }) => { ... });
 * client.on('reconnected', ({ participantId, url }) => { ... });
 * client.on('left', ({ reason }) => { ... }); // out of the room for good, e.g. REPLACED
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
 *
 * Reconnecting (docs/signaling.md section 10): when the WebSocket closes, the
 * node stops answering pings, or the node says SHUTTING_DOWN or
 * WORKER_FAILED, the client drops both connections (every remote track ends
 * with `trackremoved`), waits a jittered, growing delay and joins the same
 * room with the same identity on the next node of its list (round robin),
 * until it is back or the app calls `leave()`/`close()`. Then it publishes
 * the same local tracks again and emits `reconnected` with its new
 * participant id; remote tracks come back as new `trackadded`. A removal the
 * server decided on purpose (REPLACED) or a join refused for good (token,
 * grants, names) ends the session with `left` instead.
 */
import { backoffDelay, FINAL_JOIN_ERRORS, nodeForAttempt, reconnectSettings, type ReconnectOptions, type ReconnectSettings } from './reconnect-policy.js';
import {
  ShoalError,
  SignalingConnection,
  type ConnectionLoss,
  type Role,
  type ServerMessage,
  type TrackMid,
  type WireData,
  type WireTrack,
} from './signaling-connection.js';

export { ShoalError, type ReconnectOptions };

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

export interface ConnectOptions {
  reconnect?: ReconnectOptions;
}

export interface JoinOptions {
  /**
   * The access token of a node with auth (docs/security.md), or a function
   * returning one: it is called for the join and again for every rejoin, so
   * that a rejoin can use a fresh token.
   */
  token?: string | (() => string | Promise<string>);
  /** Fail with UNKNOWN_ROOM rather than create the room (first join only: a rejoin recreates it). */
  mustExist?: boolean;
}

/** `connected`: WebSocket open, not in a room; `joined`: in a room; `reconnecting`: lost the node, rejoining; `closed`: done. */
export type ClientState = 'connected' | 'joined' | 'reconnecting' | 'closed';

export interface ReconnectingEvent {
  /** Why the node was given up: `SOCKET_CLOSED`, `PING_TIMEOUT`, or the server's `SHUTTING_DOWN`, `WORKER_FAILED`, `CONNECTION_FAILED`. */
  reason: string;
  message: string;
  /** 1 for the first attempt of this reconnect. */
  attempt: number;
  /** The node this attempt goes to. */
  url: string;
  /** The wait before it starts. */
  delayMs: number;
  /** Why the previous attempt failed (absent on the first). */
  previousAttemptError?: string;
}

export interface ReconnectedEvent {
  participantId: string;
  previousParticipantId: string;
  url: string;
  attempts: number;
  /** From giving up the old node to republished on the new one. */
  downtimeMs: number;
  /** The local tracks published again, with their new track ids. */
  published: PublishedTrack[];
}

export interface LeftEvent {
  /** `REPLACED`, a join error that will not go away (`TOKEN_EXPIRED`, `PERMISSION_DENIED`, ...), or with reconnect off the reason of the loss. */
  reason: string;
  message: string;
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
  /** The node was lost: the client tries again (once per attempt). */
  reconnecting: ReconnectingEvent;
  /** Back in the room through `url`, with a new participant id, the local tracks published again. */
  reconnected: ReconnectedEvent;
  /** Out of the room for good: no rejoin will follow. Not emitted for the app's own `leave()` or `close()`. */
  left: LeftEvent;
  /** The client is closed for good: `close()`, or the WebSocket closed while not in a room (or with reconnect off). */
  close: { code: number; reason: string };
}

interface Session {
  room: string;
  identity: string;
  token: JoinOptions['token'];
}

/** One reconnect: from losing the node to being back. */
interface Recovery {
  reason: string;
  message: string;
  attempt: number;
  /** Index of the node of the first attempt. */
  first: number;
  since: number;
  previousParticipantId: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  lastError: string | undefined;
}

const RTC_CONFIG: RTCConfiguration = { iceServers: [], bundlePolicy: 'max-bundle' };
/** Request failures that say nothing about the request itself: the node went meanwhile. */
const LOST_CODES = new Set(['CLOSED', 'TIMEOUT']);

export class ShoalClient extends EventTarget {
  /** Set after `join` (and anew after every rejoin). */
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

  private connection: SignalingConnection | undefined;
  private nodeIndex = 0;
  private session: Session | undefined;
  private recovery: Recovery | undefined;
  private closed = false;
  /** Every track passed to `publish` and not unpublished, with its stream: published again on a new connection. */
  private readonly localTracks = new Map<MediaStreamTrack, MediaStream>();
  /** Every track announced in the room, by track id (for participant and codec of received tracks). */
  private readonly roomTracks = new Map<string, WireTrack>();
  private readonly remoteCandidates: Record<Role, RTCIceCandidateInit[]> = { PUBLISHER: [], SUBSCRIBER: [] };
  private readonly streams = new WeakMap<RTCRtpTransceiver, MediaStream>();
  private readonly channels = new Map<string, RTCDataChannel>();
  /** Negotiations of each connection run one after another. */
  private publisherQueue: Promise<unknown> = Promise.resolve();
  private subscriberQueue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** The nodes' signaling URLs, in order of preference. */
    readonly nodes: readonly string[],
    private readonly settings: ReconnectSettings,
  ) {
    super();
  }

  /**
   * Opens the signaling WebSocket (`ws(s)://host/ws`) to the first node of
   * `nodes` that accepts it, trying each once in order. A rejoin after losing
   * the node goes round the same list. Different clients should list the
   * nodes in different orders to spread out.
   */
  static async connect(nodes: string | readonly string[], options: ConnectOptions = {}): Promise<ShoalClient> {
    const urls = typeof nodes === 'string' ? [nodes] : [...nodes];
    if (urls.length === 0) throw new ShoalError('CLOSED', 'no node to connect to');
    const client = new ShoalClient(urls, reconnectSettings(options.reconnect));
    const failures: string[] = [];
    for (let index = 0; index < urls.length; index++) {
      try {
        client.use(await client.open(index), index);
        return client;
      } catch (error) {
        failures.push(asShoalError(error).message);
      }
    }
    throw new ShoalError('CLOSED', failures.join('; '));
  }

  /** The URL of the node in use (or last used). */
  get url(): string {
    return this.nodes[this.nodeIndex]!;
  }

  get state(): ClientState {
    if (this.recovery) return 'reconnecting';
    if (this.closed || !this.connection) return 'closed';
    return this.session ? 'joined' : 'connected';
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
  async join(room: string, identity: string, options: JoinOptions = {}): Promise<JoinedRoom> {
    if (this.session) throw new ShoalError('ALREADY_JOINED', `already in room ${this.session.room}`);
    const connection = this.currentConnection();
    const token = await resolveToken(options.token);
    const reply = await connection.request({ join: { room, identity, ...(token ? { token } : {}), ...(options.mustExist ? { mustExist: true } : {}) } });
    const joined = reply.joined!;
    this.session = { room: joined.room, identity: joined.identity, token: options.token };
    return { room: joined.room, participantId: joined.participantId, identity: joined.identity, participants: joined.participants ?? [] };
  }

  /**
   * Publishes every track of `stream` (one sendonly transceiver each) and
   * renegotiates the publisher connection. Resolves once the server answered.
   * The tracks are published again on every new publisher connection (after
   * a failure or a reconnect) until `unpublish`; while reconnecting, this
   * resolves once the client is back and has published them.
   */
  async publish(stream: MediaStream): Promise<PublishedTrack[]> {
    const tracks = stream.getTracks();
    for (const track of tracks) this.localTracks.set(track, stream);
    if (this.recovery) {
      await this.untilReconnected();
      return this.published;
    }
    try {
      return await this.publishLocalTracks();
    } catch (error) {
      if (!LOST_CODES.has(asShoalError(error).code)) {
        // Refused for itself: not to be published again.
        this.forgetLocalTracks(tracks);
      } else if (this.recovery) {
        // The node went meanwhile: the tracks go out with the rejoin.
        await this.untilReconnected();
        return this.published;
      }
      throw error;
    }
  }

  /** Stops publishing one track (the track itself keeps running). */
  unpublish(track: MediaStreamTrack): Promise<PublishedTrack[]> {
    this.localTracks.delete(track);
    const pc = this.publisherPc;
    const sender = pc?.getSenders().find((s) => s.track === track);
    if (!pc || !sender) return Promise.resolve(this.published);
    pc.removeTrack(sender);
    return this.negotiatePublisher();
  }

  /**
   * Sends text to the others in the room (or only to `to` identities): on
   * the room's data channel when it is open, else over the WebSocket.
   * Returns the way it went; `dropped` while no node is connected (reconnecting).
   */
  sendData(text: string, options: { unreliable?: boolean; to?: string[] } = {}): 'datachannel' | 'websocket' | 'dropped' {
    const message = { text, ...(options.unreliable ? { unreliable: true } : {}), ...(options.to?.length ? { toIdentities: options.to } : {}) };
    const channel = this.channels.get(options.unreliable ? 'unreliable' : 'reliable');
    if (channel?.readyState === 'open') {
      channel.send(JSON.stringify(message));
      return 'datachannel';
    }
    return this.connection?.send({ data: message }) ? 'websocket' : 'dropped';
  }

  /**
   * Leaves the room and closes both connections; the WebSocket stays open for
   * another `join`. While reconnecting, it stops trying and closes the client.
   */
  async leave(): Promise<void> {
    this.session = undefined;
    this.localTracks.clear();
    if (this.recovery) {
      this.stopRecovery();
      this.resetMedia();
      this.connection?.close(); // an attempt's, still joining
      this.connection = undefined;
      this.finish({ code: 1000, reason: 'left while reconnecting' });
      return;
    }
    try {
      await this.currentConnection().request({ leave: {} });
    } finally {
      this.resetMedia();
    }
  }

  /** Closes everything, and stops reconnecting. Local tracks passed to `publish` are not stopped. */
  close(): void {
    this.session = undefined;
    this.localTracks.clear();
    this.stopRecovery();
    this.resetMedia();
    this.connection?.close();
    this.connection = undefined;
    this.finish({ code: 1000, reason: 'closed by the application' });
  }

  /** The data channel with this label ("reliable" or "unreliable"), once the server opened it. */
  dataChannel(label: 'reliable' | 'unreliable'): RTCDataChannel | undefined {
    return this.channels.get(label);
  }

  private emit<K extends keyof ShoalEventMap>(type: K, detail: ShoalEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  private currentConnection(): SignalingConnection {
    if (!this.connection) throw new ShoalError(this.recovery ? 'RECONNECTING' : 'CLOSED', 'no signaling connection now');
    return this.connection;
  }

  /** Opens a connection to node `index`; its messages and loss are heeded only while it is the one in use. */
  private open(index: number): Promise<SignalingConnection> {
    let connection: SignalingConnection | undefined;
    const opening = SignalingConnection.open(
      this.nodes[index]!,
      {
        message: (message, isReply) => {
          if (connection && connection === this.connection) this.onMessage(connection, message, isReply);
        },
        lost: (loss) => {
          if (connection && connection === this.connection) this.onConnectionLost(loss);
        },
      },
      this.settings.connectTimeoutMs,
    );
    return opening.then((opened) => (connection = opened));
  }

  private use(connection: SignalingConnection, index: number): void {
    this.connection = connection;
    this.nodeIndex = index;
    connection.startPing(this.settings.pingIntervalMs, this.settings.pingTimeoutMs);
  }

  private onConnectionLost(loss: ConnectionLoss): void {
    this.connection = undefined;
    // A rejoin in progress fails with its join request (CLOSED) and tries the next node.
    if (this.recovery) return;
    if (this.session) {
      this.lose(loss.reason, loss.message, false);
      return;
    }
    this.resetMedia();
    this.finish({ code: loss.code, reason: loss.message });
  }

  private onMessage(connection: SignalingConnection, message: ServerMessage, isReply: boolean): void {
    if (message.error) {
      // A request's error goes to whoever made the request.
      if (!isReply) this.onServerError(message.error);
      return;
    }
    if (message.joined) this.onJoined(message.joined);
    else if (message.subscriberOffer) this.onSubscriberOffer(connection, message.subscriberOffer);
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
  }

  /** An error the server sent on its own: a removal, a failed connection, or a report (emitted as `error`). */
  private onServerError({ code = 'ERROR_CODE_UNSPECIFIED', message = '', role }: NonNullable<ServerMessage['error']>): void {
    if (this.session && code === 'REPLACED') {
      // Another session of this identity took the place on purpose: rejoining would only replace it in turn.
      this.endSession(code, message);
    } else if (this.session && (code === 'SHUTTING_DOWN' || code === 'WORKER_FAILED')) {
      // A draining node goes away: start on the next node. A failed worker is replaced: this node is fine.
      this.lose(code, message, code === 'WORKER_FAILED');
    } else if (this.session && code === 'CONNECTION_FAILED' && role === 'SUBSCRIBER') {
      // The server gave up restarting the subscriber connection: only a new join brings media back.
      this.lose(code, message, true);
    } else {
      if (code === 'CONNECTION_FAILED' && role === 'PUBLISHER') this.republish();
      this.emit('error', new ShoalError(code, message));
    }
  }

  private onJoined(joined: NonNullable<ServerMessage['joined']>): void {
    this.room = joined.room;
    this.participantId = joined.participantId;
    this.identity = joined.identity;
    const before = new Map(this.participants);
    this.participants.clear();
    for (const p of joined.participants ?? []) this.participants.set(p.participantId, p);
    for (const t of joined.tracks ?? []) this.roomTracks.set(t.trackId, t);
    if (!this.recovery) return;
    // A rejoin: tell what changed in the room while this client was away.
    for (const [id, p] of before) if (!this.participants.has(id)) this.emit('participantleft', p);
    for (const [id, p] of this.participants) if (!before.has(id)) this.emit('participantjoined', p);
  }

  /**
   * Gives up the node: drops both connections and what they carried, then
   * rejoins (from the same node when it is healthy, else the next one), or
   * with reconnect off ends the session.
   */
  private lose(reason: string, message: string, sameNode: boolean): void {
    if (this.recovery) return; // already rejoining: the attempt in progress decides
    if (!this.settings.enabled) {
      this.endSession(reason, message);
      if (!this.connection) this.finish({ code: 1006, reason: message });
      return;
    }
    const previousParticipantId = this.participantId;
    this.connection?.close();
    this.connection = undefined;
    this.resetMedia(true);
    const first = sameNode ? this.nodeIndex : this.nodeIndex + 1;
    this.recovery = { reason, message, attempt: 0, first, since: Date.now(), previousParticipantId, timer: undefined, lastError: undefined };
    this.scheduleAttempt(this.recovery);
  }

  private scheduleAttempt(recovery: Recovery): void {
    const attempt = ++recovery.attempt;
    const delayMs = backoffDelay(attempt, this.settings);
    const index = nodeForAttempt(recovery.first, attempt, this.nodes.length);
    const { reason, message, lastError } = recovery;
    this.emit('reconnecting', { reason, message, attempt, url: this.nodes[index]!, delayMs, ...(lastError ? { previousAttemptError: lastError } : {}) });
    recovery.timer = setTimeout(() => void this.rejoin(recovery, index), delayMs);
  }

  /** One attempt: a new WebSocket to node `index`, the same room and identity, then the local tracks again. */
  private async rejoin(recovery: Recovery, index: number): Promise<void> {
    const session = this.session!;
    let connection: SignalingConnection;
    try {
      connection = await this.open(index);
      if (this.recovery !== recovery) {
        connection.close();
        return;
      }
      this.use(connection, index);
      const token = await resolveToken(session.token);
      if (this.recovery !== recovery) return;
      await connection.request({ join: { room: session.room, identity: session.identity, ...(token ? { token } : {}) } });
      if (this.recovery !== recovery) return;
    } catch (error) {
      if (this.recovery !== recovery) return; // left, closed, or given up meanwhile
      this.connection?.close();
      this.connection = undefined;
      const failure = asShoalError(error);
      if (FINAL_JOIN_ERRORS.has(failure.code)) {
        this.recovery = undefined;
        this.endSession(failure.code, failure.message);
        this.finish({ code: 1000, reason: `rejoin refused: ${failure.code}` });
        return;
      }
      recovery.lastError = `${failure.code}: ${failure.message}`;
      this.scheduleAttempt(recovery);
      return;
    }
    // Joined (onJoined has the new participant id): from here a loss starts a new reconnect.
    this.recovery = undefined;
    const published = await this.publishLocalTracks().catch((error: unknown) => {
      if (connection === this.connection) this.emit('error', new ShoalError('NEGOTIATION_FAILED', `publishing again: ${String(error)}`));
      return [];
    });
    if (connection !== this.connection || this.recovery) return; // lost again meanwhile
    this.emit('reconnected', {
      participantId: this.participantId,
      previousParticipantId: recovery.previousParticipantId,
      url: connection.url,
      attempts: recovery.attempt,
      downtimeMs: Date.now() - recovery.since,
      published,
    });
  }

  private stopRecovery(): void {
    clearTimeout(this.recovery?.timer);
    this.recovery = undefined;
  }

  /** Resolves at the next `reconnected`, rejects when the client leaves the room or closes instead. */
  private untilReconnected(): Promise<void> {
    return new Promise((resolve, reject) => {
      const stops: Array<() => void> = [];
      const settle = (fn: () => void) => {
        for (const stop of stops) stop();
        fn();
      };
      stops.push(
        this.on('reconnected', () => settle(resolve)),
        this.on('left', ({ reason, message }) => settle(() => reject(new ShoalError(reason, message)))),
        this.on('close', ({ reason }) => settle(() => reject(new ShoalError('CLOSED', reason)))),
      );
    });
  }

  /** The room session is over and will not be rejoined: tell the app why. */
  private endSession(reason: string, message: string): void {
    this.session = undefined;
    this.localTracks.clear();
    this.resetMedia();
    this.emit('left', { reason, message });
  }

  private finish(detail: { code: number; reason: string }): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', detail);
  }

  private createPeerConnection(role: Role): RTCPeerConnection {
    const connection = this.connection;
    const pc = new RTCPeerConnection(RTC_CONFIG);
    pc.onicecandidate = ({ candidate }) => {
      // A null or empty candidate ends gathering; the server needs no notice of that.
      if (candidate?.candidate) connection?.send({ trickle: { target: role, candidate: candidate.candidate, sdpMid: candidate.sdpMid ?? '' } });
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

  /** Puts every local track not sent yet on the publisher connection (made if missing) and negotiates. */
  private publishLocalTracks(): Promise<PublishedTrack[]> {
    for (const track of this.localTracks.keys()) if (track.readyState === 'ended') this.localTracks.delete(track);
    if (this.localTracks.size === 0) return Promise.resolve(this.published);
    const pc = (this.publisherPc ??= this.createPeerConnection('PUBLISHER'));
    const sending = new Set(pc.getSenders().map((sender) => sender.track));
    for (const [track, stream] of this.localTracks) {
      if (!sending.has(track)) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    }
    return this.negotiatePublisher();
  }

  /** Tracks the server refused: off the publisher connection and out of what is published again. */
  private forgetLocalTracks(tracks: MediaStreamTrack[]): void {
    const pc = this.publisherPc;
    for (const track of tracks) {
      this.localTracks.delete(track);
      const sender = pc?.getSenders().find((s) => s.track === track);
      if (pc && sender && pc.signalingState !== 'closed') pc.removeTrack(sender);
    }
  }

  private negotiatePublisher(): Promise<PublishedTrack[]> {
    return this.serialize('PUBLISHER', async () => {
      const pc = this.publisherPc;
      const connection = this.connection;
      if (!pc || !connection) throw new ShoalError('CLOSED', 'the publisher connection is closed');
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const reply = await connection.request({ publishOffer: { sdp: offer.sdp } });
      const answer = reply.publishAnswer!;
      if (pc.signalingState === 'closed') throw new ShoalError('CLOSED', 'the publisher connection is closed');
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      await this.flushCandidates('PUBLISHER');
      const byMid = new Map(pc.getTransceivers().map((t) => [t.mid, t.sender.track]));
      this.published = (answer.tracks ?? []).map(({ mid, trackId }) => ({ mid, trackId, track: byMid.get(mid) ?? null }));
      return this.published;
    });
  }

  /** Every subscriber offer is answered in turn, on the connection it came from; the remote track set then follows the offer's track list. */
  private onSubscriberOffer(connection: SignalingConnection, offer: NonNullable<ServerMessage['subscriberOffer']>): void {
    if (!this.participantId) return; // an offer still in flight when this client left
    this.serialize('SUBSCRIBER', async () => {
      if (connection !== this.connection) return; // meant for a node given up meanwhile
      if (offer.restart) this.dropSubscriber();
      const pc = (this.subscriberPc ??= this.createPeerConnection('SUBSCRIBER'));
      await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      await this.flushCandidates('SUBSCRIBER');
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      connection.send({ subscriberAnswer: { sdp: answer.sdp, offerId: offer.offerId ?? 0 } });
      this.updateRemoteTracks(pc, offer.tracks ?? []);
    }).catch((error: unknown) => {
      if (this.subscriberPc && connection === this.connection) this.emit('error', new ShoalError('NEGOTIATION_FAILED', `subscriber offer: ${String(error)}`));
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
    this.dropPublisher();
    this.publishLocalTracks().catch((error: unknown) => this.emit('error', new ShoalError('NEGOTIATION_FAILED', `publishing again: ${String(error)}`)));
  }

  private dropPublisher(): void {
    this.publisherPc?.close();
    this.publisherPc = undefined;
    this.published = [];
    this.remoteCandidates.PUBLISHER = [];
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

  /**
   * Drops both connections and everything received on them (after leave,
   * removal, close, or losing the node). The participant list stays when
   * rejoining (`keepParticipants`), so that the rejoin can tell what changed.
   */
  private resetMedia(keepParticipants = false): void {
    this.participantId = '';
    this.dropPublisher();
    if (!keepParticipants) this.participants.clear();
    this.roomTracks.clear();
    this.remoteCandidates.SUBSCRIBER = [];
    this.dropSubscriber();
  }
}

function resolveToken(token: JoinOptions['token']): Promise<string | undefined> {
  return Promise.resolve(typeof token === 'function' ? token() : token);
}

function asShoalError(error: unknown): ShoalError {
  return error instanceof ShoalError ? error : new ShoalError('ERROR', String(error));
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
