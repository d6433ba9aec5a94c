import type { Logger } from 'pino';
import type { ConnectionRole, ReceivingConnection, TrackMid, WorkerEvent } from '../../media/worker/protocol.js';
import { requireGrant, type AccessControl } from '../auth/access-control.js';
import { newParticipantId } from '../cluster/ids.js';
import type { NodeConfig } from '../config.js';
import { nameProblem } from '../signaling/names.js';
import { decodeDataMessage, ErrorCode, ProtocolError, type DataMessage } from '../signaling/codec.js';
import type { RoomStore } from '../store/room-store.js';
import type { MediaWorkerHandle } from '../workers/media-worker-handle.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import { ClusterMembers } from './cluster-members.js';
import { DataRelay, type DataLink, type DeliveredData } from './data-relay.js';
import { KeyedLock } from './keyed-lock.js';
import { Participant, type ParticipantSink, type Removal } from './participant.js';
import { chooseWorker } from './placement.js';
import { participantRecord, trackRecord } from './records.js';
import { Room } from './room.js';
import { TrackDistribution } from './track-distribution.js';
import { clientMessageFor, toProtocolError, trackMessage } from './wire.js';

export type { Removal } from './participant.js';

export interface JoinRequest {
  room: string;
  identity: string;
  mustExist: boolean;
  /** Access token; required when the node has auth configured. */
  token: string;
  /** A WHIP or WHEP client instead of a WebSocket client (the default). */
  client?: ClientKind;
}

/**
 * Who joins. A WebSocket client publishes and receives (a subscriber
 * connection the server offers); a WHIP client only publishes; a WHEP client
 * only receives, on a connection it offers, every track of the room or those
 * of one identity (`watch`). WHIP and WHEP joins need the grant they use
 * (publish, subscribe) and get no other (docs/whip-whep.md).
 */
export type ClientKind = { protocol: 'websocket' } | { protocol: 'whip' } | { protocol: 'whep'; watch?: string };

/** The one grant each HTTP client kind is given, when its token has it. */
const HTTP_CLIENT_GRANT = { whip: 'publish', whep: 'subscribe' } as const;
/** How each client kind receives media (worker `createParticipant`). */
const RECEIVING: Record<ClientKind['protocol'], ReceivingConnection> = { websocket: 'offer', whip: 'none', whep: 'answer' };

export interface RoomDump {
  name: string;
  participants: Array<{ participantId: string; identity: string; workerId: number; published: string[]; subscribed: number }>;
  /** Participants of this room on other nodes. */
  remote: Array<{ participantId: string; identity: string; nodeId: string }>;
}

/** What ParticipantSink needs on top of sending: learning which participant it is, and that it is gone. */
export interface SessionSink extends ParticipantSink {
  /** The participant this session now is; called before `joined` is sent, so a removal can never miss it. */
  attach(participant: Participant): void;
  removed(participant: Participant, removal: Removal): void;
}

/**
 * The rooms of this node and the life cycle of their local participants:
 * join, publish, data, leave, and the removals the client did not ask for.
 * Every participant receives every other participant's tracks
 * (TrackDistribution), on this node or another (ClusterMembers follows the
 * store's change feed); data goes through the DataRelay; the store records
 * what this node holds.
 */
export class RoomService {
  private readonly rooms = new Map<string, Room>();
  private readonly participants = new Map<string, Participant>();
  private readonly sinks = new Map<Participant, SessionSink>();
  /** Joins of one identity in one room are decided one after the other: the last one stays. */
  private readonly joinLock = new KeyedLock();
  /** Joins being decided, so that a drain can answer them before the sockets close. */
  private readonly joining = new Set<Promise<unknown>>();
  private readonly data: DataRelay;
  private readonly distribution = new TrackDistribution();
  private readonly members: ClusterMembers;
  private draining = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly store: RoomStore,
    private readonly access: AccessControl,
    private readonly config: NodeConfig,
    private readonly log: Logger,
    dataLink?: DataLink,
  ) {
    this.data = new DataRelay(config.maxMessageBytes, dataLink);
    this.members = new ClusterMembers(store, this.rooms, this.distribution, (p, removal) => this.removeLogged(p, removal), log);
    pool.on('event', (worker, event) => this.contained({ worker: worker.id, event: event.type }, () => this.onWorkerEvent(worker, event)));
    pool.on('workerFailed', (worker) => this.contained({ worker: worker.id }, () => this.onWorkerFailed(worker)));
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  get participantCount(): number {
    return this.participants.size;
  }

  /** Every room with its participants, where they are and what they publish (for /stats and tests). */
  dump(): RoomDump[] {
    return [...this.rooms.values()].map((room) => ({
      name: room.name,
      participants: [...room.participants.values()].map((p) => ({
        participantId: p.id,
        identity: p.identity,
        workerId: p.worker.id,
        published: [...p.published.keys()],
        subscribed: p.subscribed.size,
      })),
      remote: [...room.remote.values()].map((p) => ({ participantId: p.id, identity: p.identity, nodeId: p.nodeId })),
    }));
  }

  /**
   * Admits a session to a room (token checked when auth is on) and makes it a
   * participant. A participant with the same identity, here or on another
   * node, is replaced (REPLACED); concurrent joins of one identity are decided
   * in order, so exactly one of them stays.
   */
  async join(sink: SessionSink, request: JoinRequest, joinedRequestId: number): Promise<Participant> {
    this.refuseWhileDraining();
    const problem = nameProblem('room', request.room);
    if (problem) throw new ProtocolError(ErrorCode.INVALID_NAME, problem);
    const admission = this.guard(() => this.access.admit(request));
    const { identity } = admission;
    const identityProblem = nameProblem('identity', identity);
    if (identityProblem) throw new ProtocolError(ErrorCode.INVALID_NAME, identityProblem);
    const client = request.client ?? { protocol: 'websocket' };
    let { grants } = admission;
    if (client.protocol !== 'websocket') {
      const grant = HTTP_CLIENT_GRANT[client.protocol];
      this.guard(() => requireGrant(grants, grant, client.protocol === 'whip' ? 'publishing with WHIP' : 'watching with WHEP'));
      grants = new Set([grant]);
    }
    const joined = this.joinLock.run(`${request.room}/${identity}`, () =>
      this.joinNow(sink, { ...request, identity }, grants, joinedRequestId),
    );
    this.joining.add(joined);
    void joined.catch(() => undefined).finally(() => this.joining.delete(joined));
    return joined;
  }

  /** Applies a publisher offer. `candidatesInAnswer`: the answer carries the server's candidates (WHIP). */
  async publish(participant: Participant, sdp: string, candidatesInAnswer = false): Promise<{ sdp: string; tracks: TrackMid[] }> {
    this.guard(() => requireGrant(participant.grants, 'publish', 'publishing'));
    const result = await participant.worker.request('publish', { participantId: participant.id, sdp, candidatesInAnswer }).catch((error) => {
      if (participant.state === 'left') throw new ProtocolError(ErrorCode.NOT_JOINED, 'left the room while publishing');
      throw toProtocolError(error, participant.log);
    });
    if (participant.state === 'left') throw new ProtocolError(ErrorCode.NOT_JOINED, 'left the room while publishing');
    const now = new Set(result.producers.map((p) => p.trackId));
    for (const track of [...participant.published.values()]) if (!now.has(track.trackId)) this.unpublish(participant, track.trackId);
    const room = this.rooms.get(participant.room)!;
    for (const producer of result.producers) {
      if (participant.published.has(producer.trackId)) continue;
      participant.published.set(producer.trackId, producer);
      this.record(participant, this.store.putTrack(trackRecord(participant, producer)));
      this.distribution.announce(room, { info: producer, identity: participant.identity });
      participant.log.info({ track: producer.trackId, kind: producer.kind, codec: producer.codec.mimeType }, 'track published');
    }
    return { sdp: result.sdp, tracks: result.producers.map((p) => ({ mid: p.mid, trackId: p.trackId })) };
  }

  /** Applies a WHEP client's offer to its viewer connection; resolves with the answer (the server's candidates in it). */
  async view(participant: Participant, sdp: string): Promise<string> {
    const result = await participant.worker.request('viewerOffer', { participantId: participant.id, sdp }).catch((error) => {
      if (participant.state === 'left') throw new ProtocolError(ErrorCode.NOT_JOINED, 'left the room while its offer was applied');
      throw toProtocolError(error, participant.log);
    });
    return result.sdp;
  }

  async answerSubscriber(participant: Participant, sdp: string, offerId: number): Promise<void> {
    await participant.worker.request('subscriberAnswer', { participantId: participant.id, sdp, offerId }).catch((error) => {
      throw toProtocolError(error, participant.log);
    });
  }

  async addCandidate(participant: Participant, role: ConnectionRole, candidate: string, mid: string): Promise<void> {
    if (role === 'publisher') this.guard(() => requireGrant(participant.grants, 'publish', 'a publisher connection'));
    if (candidate === '') return; // end of candidates: nothing to do for libdatachannel
    await participant.worker.request('addCandidate', { participantId: participant.id, role, candidate, mid }).catch((error) => {
      throw toProtocolError(error, participant.log);
    });
  }

  /**
   * Sends a data message to the room (or to `toIdentities`), once to each
   * recipient. `requestId` is echoed if some recipient cannot be reached.
   */
  sendData(from: Participant, message: DataMessage, requestId = 0): void {
    const room = this.rooms.get(from.room);
    if (!room || from.state !== 'joined') throw new ProtocolError(ErrorCode.NOT_JOINED, 'join a room first');
    this.guard(() => requireGrant(from.grants, 'data', 'sending data'));
    this.data.relay(from, room, message, requestId);
  }

  /** A data message another node relayed to participants of `roomName` on this node. */
  receiveClusterData(roomName: string, recipientIds: string[], message: DeliveredData): void {
    const room = this.rooms.get(roomName);
    if (room) this.data.relayFromCluster(room, recipientIds, message);
  }

  async leave(participant: Participant): Promise<void> {
    if (participant.state === 'left') return;
    // Nobody was told of a participant that never finished joining: nobody is told it left.
    const announced = participant.state === 'joined';
    participant.state = 'left';
    const room = this.rooms.get(participant.room);
    for (const trackId of [...participant.published.keys()]) this.unpublish(participant, trackId);
    if (room) this.forget(participant, room);
    participant.worker.request('closeParticipant', { participantId: participant.id }).catch(() => undefined);
    if (announced) {
      for (const other of room?.joinedOthers() ?? []) {
        other.send({ participantLeft: { participantId: participant.id, identity: participant.identity } });
      }
    }
    await this.store.deleteParticipant(participant.room, participant.id);
    await this.store.releaseIdentity(participant.room, participant.identity, participant.id).catch(() => undefined);
    if (room?.empty && this.rooms.get(room.name) === room) {
      this.rooms.delete(room.name);
      await this.store.deleteRoomIfEmpty(room.name).catch(() => undefined);
    }
    participant.log.info('participant left');
  }

  /**
   * Stops taking joins, removes every participant (their sessions are told
   * why) and waits until every join in flight has been answered.
   */
  async drain(): Promise<void> {
    this.draining = true;
    const removal = { code: ErrorCode.SHUTTING_DOWN, message: 'this node is shutting down' };
    await Promise.all([...this.participants.values()].map((p) => this.remove(p, removal)));
    await Promise.allSettled([...this.joining]);
    // The sessions reply to the joins that just failed in their own continuations: let them run.
    await new Promise((resolve) => setImmediate(resolve));
  }

  private async joinNow(sink: SessionSink, request: JoinRequest, grants: Participant['grants'], joinedRequestId: number): Promise<Participant> {
    this.refuseWhileDraining();
    if (request.mustExist && !this.rooms.has(request.room) && !(await this.guardAsync(this.store.getRoom(request.room)))) {
      throw new ProtocolError(ErrorCode.UNKNOWN_ROOM, `room "${request.room}" does not exist`);
    }
    const previous = this.rooms.get(request.room)?.withIdentity(request.identity);
    if (previous) await this.remove(previous, { code: ErrorCode.REPLACED, message: 'another session joined with this identity' });
    this.refuseWhileDraining();

    // From here to room.add nothing awaits: the room cannot be emptied and dropped under the newcomer.
    let room = this.rooms.get(request.room);
    if (!room) {
      room = new Room(request.room);
      this.rooms.set(room.name, room);
      this.members.populate(room, this.config.nodeId);
    }
    if (room.participants.size >= this.config.limits.maxParticipantsPerRoom) {
      throw new ProtocolError(ErrorCode.ROOM_FULL, `room "${room.name}" has ${room.participants.size} participants on this node, the most it allows`);
    }
    const workerId = chooseWorker(
      this.pool.workers.map((w) => ({ workerId: w.id, alive: w.alive, participants: this.participantsOn(w) })),
      room.countsByWorker(),
      this.config.roomWorkerCapacity,
    );
    const worker = workerId === undefined ? undefined : this.pool.get(workerId);
    if (!worker) {
      if (room.empty) this.rooms.delete(room.name);
      throw new ProtocolError(ErrorCode.WORKER_FAILED, 'no media worker is available');
    }
    const id = newParticipantId();
    const log = this.log.child({ room: room.name, participant: id, identity: request.identity, worker: worker.id });
    const client = request.client ?? { protocol: 'websocket' };
    const watching = client.protocol === 'whep' ? client.watch : undefined;
    const participant = new Participant(id, request.identity, room.name, grants, worker, sink, log, watching);
    room.add(participant);
    this.participants.set(id, participant);
    this.sinks.set(participant, sink);

    try {
      await this.store.ensureRoom(room.name);
      // Decided once across the cluster; the node holding the previous participant removes it.
      await this.store.claimIdentity(room.name, request.identity, id);
      this.stillJoining(participant);
      const receiving = RECEIVING[client.protocol];
      const producers = receiving === 'offer' ? this.distribution.initialTracks(participant, room) : [];
      await worker.request('createParticipant', { participantId: id, room: room.name, identity: request.identity, receiving, producers });
      this.stillJoining(participant);
      await this.store.putParticipant(participantRecord(participant, this.config.nodeId));
      this.stillJoining(participant);
    } catch (error) {
      await this.leave(participant);
      throw toProtocolError(error, log);
    }

    sink.attach(participant);
    participant.markJoined({
      requestId: joinedRequestId,
      joined: {
        room: room.name,
        participantId: id,
        identity: request.identity,
        participants: room.membersFor(participant),
        tracks: room.tracks().map(trackMessage),
      },
    });
    for (const other of room.joinedOthers(participant)) other.send({ participantJoined: { participant: participant.info() } });
    this.distribution.subscribeAll(participant, room);
    log.info('participant joined');
    return participant;
  }

  /** Throws the removal's error when the participant was removed (drain, worker failure, replaced) while joining. */
  private stillJoining(participant: Participant): void {
    if (participant.state !== 'left') return;
    const removal = participant.removal ?? { code: ErrorCode.INTERNAL, message: 'removed while joining' };
    throw new ProtocolError(removal.code, removal.message);
  }

  private refuseWhileDraining(): void {
    if (this.draining) throw new ProtocolError(ErrorCode.SHUTTING_DOWN, 'this node is shutting down and takes no new joins');
  }

  /** Runs a check; what it throws reaches the client as the matching ProtocolError. */
  private guard<T>(check: () => T): T {
    try {
      return check();
    } catch (error) {
      throw toProtocolError(error, this.log);
    }
  }

  private guardAsync<T>(promise: Promise<T>): Promise<T> {
    return promise.catch((error) => {
      throw toProtocolError(error, this.log);
    });
  }

  private async remove(participant: Participant, removal: Removal): Promise<void> {
    if (participant.state === 'left') return;
    participant.removal = removal;
    // A participant still joining is answered by its join's error instead.
    if (participant.state === 'joined') this.sinks.get(participant)?.removed(participant, removal);
    await this.leave(participant);
  }

  private removeLogged(participant: Participant, removal: Removal): void {
    this.remove(participant, removal).catch((error) => participant.log.error({ err: error }, 'removal failed'));
  }

  private forget(participant: Participant, room: Room): void {
    room.remove(participant);
    this.participants.delete(participant.id);
    this.sinks.delete(participant);
    if (participant.state !== 'left') participant.state = 'left';
  }

  private unpublish(publisher: Participant, trackId: string): void {
    if (!publisher.published.delete(trackId)) return;
    const room = this.rooms.get(publisher.room);
    if (room) this.distribution.withdraw(room, trackId, publisher.id);
    this.record(publisher, this.store.deleteTrack(publisher.room, trackId));
    publisher.log.info({ track: trackId }, 'track unpublished');
  }

  /** A store write nobody waits for; the store retries what NATS missed, so a failure here is a bug worth a line. */
  private record(participant: Participant, write: Promise<void>): void {
    write.catch((error) => participant.log.error({ err: error }, 'store write failed'));
  }

  private onWorkerEvent(worker: MediaWorkerHandle, event: WorkerEvent): void {
    if (!('participantId' in event)) return;
    const participant = this.participants.get(event.participantId);
    if (!participant || participant.worker !== worker) return;
    switch (event.type) {
      case 'connectionState':
        participant.log.debug({ role: event.role, state: event.state }, 'connection state');
        break;
      case 'producerClosed':
        this.unpublish(participant, event.trackId);
        break;
      case 'data':
        // Data channel messages count against the client's message rate like its signaling frames.
        if (!participant.sink.allowMessage()) break;
        try {
          this.sendData(participant, decodeDataMessage(event.message));
        } catch (error) {
          const e = error instanceof ProtocolError ? error : new ProtocolError(ErrorCode.INTERNAL, String(error));
          participant.send({ error: { code: e.code, message: `data channel message: ${e.message}` } });
        }
        break;
      default: {
        const message = clientMessageFor(event);
        if (message) participant.send(message);
      }
    }
  }

  private onWorkerFailed(worker: MediaWorkerHandle): void {
    const affected = [...this.participants.values()].filter((p) => p.worker === worker);
    this.log.error({ worker: worker.id, participants: affected.length }, 'media worker failed; removing its participants');
    for (const participant of affected) {
      this.removeLogged(participant, { code: ErrorCode.WORKER_FAILED, message: 'the media worker holding this session failed; join again' });
    }
  }

  /** Runs a handler of an event nobody awaits (worker events): a failure is logged with its context, never thrown on. */
  private contained(context: object, handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.log.error({ ...context, err: error }, 'event handler failed');
    }
  }

  private participantsOn(worker: MediaWorkerHandle): number {
    let count = 0;
    for (const p of this.participants.values()) if (p.worker === worker) count++;
    return count;
  }
}
