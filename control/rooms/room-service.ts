import type { Logger } from 'pino';
import type { ConnectionRole, ProducerInfo, TrackMid, WorkerEvent } from '../../media/worker/protocol.js';
import { newParticipantId } from '../cluster/ids.js';
import { AccessDenied, requireGrant, type AccessControl } from '../auth/access-control.js';
import type { NodeConfig } from '../config.js';
import { nameProblem } from '../signaling/names.js';
import { decodeDataMessage, ErrorCode, ProtocolError, type DataMessage } from '../signaling/codec.js';
import type { RoomStore, TrackRecord } from '../store/room-store.js';
import { WorkerError, type MediaWorkerHandle } from '../workers/media-worker-handle.js';
import type { WorkerPool } from '../workers/worker-pool.js';
import { DataRelay } from './data-relay.js';
import { KeyedLock } from './keyed-lock.js';
import { Participant, type ParticipantSink, type Removal } from './participant.js';
import { chooseWorker } from './placement.js';
import { Room } from './room.js';
import { shoal } from '../../proto/generated/shoal.js';

export type { Removal } from './participant.js';

const { TrackKind, ConnectionRole: WireRole } = shoal.signaling.v1;

export interface JoinRequest {
  room: string;
  identity: string;
  mustExist: boolean;
  /** Access token; required when the node has auth configured. */
  token: string;
}

export interface RoomDump {
  name: string;
  participants: Array<{ participantId: string; identity: string; workerId: number; published: string[]; subscribed: number }>;
}

/** What ParticipantSink needs on top of sending: learning which participant it is, and that it is gone. */
export interface SessionSink extends ParticipantSink {
  /** The participant this session now is; called before `joined` is sent, so a removal can never miss it. */
  attach(participant: Participant): void;
  removed(participant: Participant, removal: Removal): void;
}

/**
 * The rooms of this node and the life cycle of their participants: join,
 * publish, subscribe (every participant receives every other participant's
 * tracks), data, leave. Talks to media workers for media and to the store
 * for the record; sessions call it and it calls sessions back.
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
  private draining = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly store: RoomStore,
    private readonly access: AccessControl,
    private readonly config: NodeConfig,
    private readonly nodeId: string,
    private readonly log: Logger,
  ) {
    this.data = new DataRelay(config.maxMessageBytes);
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
    }));
  }

  /**
   * Admits a session to a room (token checked when auth is on) and makes it a
   * participant. A participant already in the room with the same identity is
   * replaced (REPLACED); concurrent joins of one identity are decided in
   * order, so exactly one of them stays.
   */
  async join(sink: SessionSink, request: JoinRequest, joinedRequestId: number): Promise<Participant> {
    this.refuseWhileDraining();
    const problem = nameProblem('room', request.room);
    if (problem) throw new ProtocolError(ErrorCode.INVALID_NAME, problem);
    const { identity, grants } = this.admit(request);
    const identityProblem = nameProblem('identity', identity);
    if (identityProblem) throw new ProtocolError(ErrorCode.INVALID_NAME, identityProblem);
    const joined = this.joinLock.run(`${request.room}/${identity}`, () =>
      this.joinNow(sink, { ...request, identity }, grants, joinedRequestId),
    );
    this.joining.add(joined);
    void joined.catch(() => undefined).finally(() => this.joining.delete(joined));
    return joined;
  }

  async publish(participant: Participant, sdp: string): Promise<{ sdp: string; tracks: TrackMid[] }> {
    this.requireGrant(participant, 'publish', 'publishing');
    const result = await participant.worker.request('publish', { participantId: participant.id, sdp }).catch((error) => {
      if (participant.state === 'left') throw new ProtocolError(ErrorCode.NOT_JOINED, 'left the room while publishing');
      throw this.toProtocolError(error);
    });
    if (participant.state === 'left') throw new ProtocolError(ErrorCode.NOT_JOINED, 'left the room while publishing');
    const now = new Set(result.producers.map((p) => p.trackId));
    for (const track of [...participant.published.values()]) if (!now.has(track.trackId)) await this.unpublish(participant, track.trackId);
    for (const producer of result.producers) {
      if (participant.published.has(producer.trackId)) continue;
      participant.published.set(producer.trackId, producer);
      await this.store.putTrack(this.trackRecord(participant, producer));
      const room = this.rooms.get(participant.room)!;
      // Participants still joining get the room's tracks with `joined`.
      for (const other of room.joinedOthers(participant)) {
        other.send({ trackPublished: { track: this.trackMessage(producer) } });
        this.subscribe(other, producer);
      }
      participant.log.info({ track: producer.trackId, kind: producer.kind, codec: producer.codec.mimeType }, 'track published');
    }
    return { sdp: result.sdp, tracks: result.producers.map((p) => ({ mid: p.mid, trackId: p.trackId })) };
  }

  async answerSubscriber(participant: Participant, sdp: string, offerId: number): Promise<void> {
    await participant.worker.request('subscriberAnswer', { participantId: participant.id, sdp, offerId }).catch((error) => {
      throw this.toProtocolError(error);
    });
  }

  async addCandidate(participant: Participant, role: ConnectionRole, candidate: string, mid: string): Promise<void> {
    if (role === 'publisher') this.requireGrant(participant, 'publish', 'a publisher connection');
    if (candidate === '') return; // end of candidates: nothing to do for libdatachannel
    await participant.worker.request('addCandidate', { participantId: participant.id, role, candidate, mid }).catch((error) => {
      throw this.toProtocolError(error);
    });
  }

  /**
   * Sends a data message to the room (or to `toIdentities`), once to each
   * recipient. `requestId` is echoed if some recipient cannot be reached.
   */
  sendData(from: Participant, message: DataMessage, requestId = 0): void {
    const room = this.rooms.get(from.room);
    if (!room || from.state !== 'joined') throw new ProtocolError(ErrorCode.NOT_JOINED, 'join a room first');
    this.requireGrant(from, 'data', 'sending data');
    this.data.relay(from, room, message, requestId);
  }

  async leave(participant: Participant): Promise<void> {
    if (participant.state === 'left') return;
    // Nobody was told of a participant that never finished joining: nobody is told it left.
    const announced = participant.state === 'joined';
    participant.state = 'left';
    const room = this.rooms.get(participant.room);
    for (const trackId of [...participant.published.keys()]) await this.unpublish(participant, trackId);
    if (room) this.forget(participant, room);
    participant.worker.request('closeParticipant', { participantId: participant.id }).catch(() => undefined);
    if (announced) {
      for (const other of room?.joinedOthers(participant) ?? []) {
        other.send({ participantLeft: { participantId: participant.id, identity: participant.identity } });
      }
    }
    await this.store.deleteParticipant(participant.room, participant.id);
    if (room?.empty && this.rooms.get(room.name) === room) {
      this.rooms.delete(room.name);
      await this.store.deleteRoomIfEmpty(room.name);
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
    if (request.mustExist && !this.rooms.has(request.room) && !(await this.store.getRoom(request.room))) {
      throw new ProtocolError(ErrorCode.UNKNOWN_ROOM, `room "${request.room}" does not exist`);
    }
    const previous = this.rooms.get(request.room)?.withIdentity(request.identity);
    if (previous) await this.remove(previous, { code: ErrorCode.REPLACED, message: 'another session joined with this identity' });
    this.refuseWhileDraining();

    // From here to room.add nothing awaits: the room cannot be emptied and dropped under the newcomer.
    let room = this.rooms.get(request.room);
    const newRoom = !room;
    if (!room) {
      room = new Room(request.room);
      this.rooms.set(room.name, room);
    }
    if (room.participants.size >= this.config.limits.maxParticipantsPerRoom) {
      throw new ProtocolError(ErrorCode.ROOM_FULL, `room "${room.name}" has ${room.participants.size} participants, the most this node allows`);
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
    const participant = new Participant(id, request.identity, room.name, grants, worker, sink, log);
    room.add(participant);
    this.participants.set(id, participant);
    this.sinks.set(participant, sink);

    try {
      if (newRoom) await this.store.ensureRoom(room.name);
      await worker.request('createParticipant', { participantId: id, room: room.name, identity: request.identity });
      this.stillJoining(participant);
      await this.store.putParticipant({
        participantId: id,
        room: room.name,
        identity: request.identity,
        nodeId: this.nodeId,
        workerId: worker.id,
        joinedAtMs: Date.now(),
      });
      this.stillJoining(participant);
    } catch (error) {
      await this.leave(participant);
      throw this.toProtocolError(error);
    }

    sink.attach(participant);
    const others = room.joinedOthers(participant);
    participant.markJoined({
      requestId: joinedRequestId,
      joined: {
        room: room.name,
        participantId: id,
        identity: request.identity,
        participants: others.map((p) => p.info()),
        tracks: room.tracks().map((t) => this.trackMessage(t)),
      },
    });
    for (const other of others) other.send({ participantJoined: { participant: participant.info() } });
    for (const track of room.tracks()) this.subscribe(participant, track);
    log.info('participant joined');
    return participant;
  }

  /** Throws the removal's error when the participant was removed (drain, worker failure) while joining. */
  private stillJoining(participant: Participant): void {
    if (participant.state !== 'left') return;
    const removal = participant.removal ?? { code: ErrorCode.INTERNAL, message: 'removed while joining' };
    throw new ProtocolError(removal.code, removal.message);
  }

  private refuseWhileDraining(): void {
    if (this.draining) throw new ProtocolError(ErrorCode.SHUTTING_DOWN, 'this node is shutting down and takes no new joins');
  }

  private admit(request: JoinRequest): ReturnType<AccessControl['admit']> {
    try {
      return this.access.admit(request);
    } catch (error) {
      throw this.toProtocolError(error);
    }
  }

  private requireGrant(participant: Participant, grant: Parameters<typeof requireGrant>[1], action: string): void {
    try {
      requireGrant(participant.grants, grant, action);
    } catch (error) {
      throw this.toProtocolError(error);
    }
  }

  private async remove(participant: Participant, removal: Removal): Promise<void> {
    if (participant.state === 'left') return;
    participant.removal = removal;
    // A participant still joining is answered by its join's error instead.
    if (participant.state === 'joined') this.sinks.get(participant)?.removed(participant, removal);
    await this.leave(participant);
  }

  private forget(participant: Participant, room: Room): void {
    room.remove(participant);
    this.participants.delete(participant.id);
    this.sinks.delete(participant);
    if (participant.state !== 'left') participant.state = 'left';
  }

  private subscribe(subscriber: Participant, track: ProducerInfo): void {
    if (subscriber.subscribed.has(track.trackId) || track.participantId === subscriber.id) return;
    if (!subscriber.grants.has('subscribe')) return;
    subscriber.subscribed.add(track.trackId);
    subscriber.worker.request('consume', { participantId: subscriber.id, producer: track }).catch((error) => {
      subscriber.log.warn({ err: error, track: track.trackId }, 'could not subscribe');
    });
  }

  private async unpublish(publisher: Participant, trackId: string): Promise<void> {
    if (!publisher.published.delete(trackId)) return;
    const room = this.rooms.get(publisher.room);
    for (const other of room?.joinedOthers(publisher) ?? []) {
      if (other.subscribed.delete(trackId)) {
        other.worker.request('unconsume', { participantId: other.id, trackId }).catch(() => undefined);
      }
      other.send({ trackUnpublished: { trackId, participantId: publisher.id } });
    }
    await this.store.deleteTrack(publisher.room, trackId);
    publisher.log.info({ track: trackId }, 'track unpublished');
  }

  private onWorkerEvent(worker: MediaWorkerHandle, event: WorkerEvent): void {
    if (!('participantId' in event)) return;
    const participant = this.participants.get(event.participantId);
    if (!participant || participant.worker !== worker) return;
    switch (event.type) {
      case 'subscriberOffer':
        participant.send({
          subscriberOffer: { sdp: event.sdp, tracks: event.tracks, offerId: event.offerId, ...(event.restart ? { restart: true } : {}) },
        });
        break;
      case 'publisherFailed':
        participant.send({
          error: {
            code: ErrorCode.CONNECTION_FAILED,
            role: WireRole.PUBLISHER,
            message: 'the publisher connection failed (ICE or DTLS); publish again with a new connection',
          },
        });
        break;
      case 'subscriberFailed':
        participant.send({
          error: {
            code: ErrorCode.CONNECTION_FAILED,
            role: WireRole.SUBSCRIBER,
            message: `the subscriber connection failed (ICE or DTLS, or did not connect in time) ${event.restarts + 1} times in a row and was closed; leave and join again to receive media`,
          },
        });
        break;
      case 'localCandidate':
        participant.send({ trickle: { target: wireRole(event.role), candidate: event.candidate, sdpMid: event.mid } });
        break;
      case 'connectionState':
        participant.log.debug({ role: event.role, state: event.state }, 'connection state');
        break;
      case 'producerClosed':
        this.unpublish(participant, event.trackId).catch((error) => participant.log.error({ err: error }, 'unpublish failed'));
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
    }
  }

  private onWorkerFailed(worker: MediaWorkerHandle): void {
    const affected = [...this.participants.values()].filter((p) => p.worker === worker);
    this.log.error({ worker: worker.id, participants: affected.length }, 'media worker failed; removing its participants');
    for (const participant of affected) {
      this.remove(participant, {
        code: ErrorCode.WORKER_FAILED,
        message: 'the media worker holding this session failed; join again',
      }).catch((error) => participant.log.error({ err: error }, 'cleanup after worker failure failed'));
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

  private trackMessage(track: ProducerInfo): shoal.signaling.v1.Track.$Properties {
    return {
      trackId: track.trackId,
      participantId: track.participantId,
      identity: this.participants.get(track.participantId)?.identity ?? '',
      kind: track.kind === 'audio' ? TrackKind.AUDIO : TrackKind.VIDEO,
      codec: track.codec.mimeType,
    };
  }

  private trackRecord(participant: Participant, track: ProducerInfo): TrackRecord {
    const { codec } = track;
    return {
      trackId: track.trackId,
      room: participant.room,
      participantId: participant.id,
      identity: participant.identity,
      kind: track.kind,
      codec: {
        mimeType: codec.mimeType,
        payloadType: codec.payloadType,
        clockRate: codec.clockRate,
        channels: codec.channels ?? 0,
        fmtp: codec.fmtp ?? '',
      },
      nodeId: this.nodeId,
      workerId: track.workerId,
    };
  }

  private toProtocolError(error: unknown): ProtocolError {
    if (error instanceof ProtocolError) return error;
    if (error instanceof AccessDenied) return new ProtocolError(ErrorCode[error.problem], error.message);
    if (error instanceof WorkerError) {
      switch (error.code) {
        case 'INVALID_SDP':
          return new ProtocolError(ErrorCode.INVALID_SDP, error.message);
        case 'INVALID_STATE':
          return new ProtocolError(ErrorCode.INVALID_STATE, error.message);
        case 'UNKNOWN_PARTICIPANT':
          return new ProtocolError(ErrorCode.UNKNOWN_PARTICIPANT, error.message);
        case 'TOO_MANY_TRACKS':
          return new ProtocolError(ErrorCode.TOO_MANY_TRACKS, error.message);
        case 'TOO_MANY_CANDIDATES':
          return new ProtocolError(ErrorCode.TOO_MANY_CANDIDATES, error.message);
        case 'WORKER_GONE':
          return new ProtocolError(ErrorCode.WORKER_FAILED, error.message);
        default:
          break;
      }
    }
    this.log.error({ err: error }, 'internal error');
    return new ProtocolError(ErrorCode.INTERNAL, 'internal error');
  }
}

function wireRole(role: ConnectionRole): shoal.signaling.v1.ConnectionRole {
  return role === 'publisher' ? WireRole.PUBLISHER : WireRole.SUBSCRIBER;
}
