import type { Logger } from 'pino';
import { ErrorCode } from '../signaling/codec.js';
import type { ParticipantRecord, RoomStore, TrackRecord } from '../store/room-store.js';
import type { Participant, Removal } from './participant.js';
import { remoteParticipant, remoteTrack } from './records.js';
import type { Room } from './room.js';
import type { TrackDistribution } from './track-distribution.js';

/**
 * Keeps this node's rooms in step with the participants and tracks of other
 * nodes, as the store's change feed reports them: a remote participant or
 * track is added to the room, announced to its local participants and
 * consumed like a local one; when it goes (it left, or its node died) the
 * room's participants are told. An identity claimed on another node replaces
 * the local participant holding it.
 */
export class ClusterMembers {
  constructor(
    private readonly store: RoomStore,
    private readonly rooms: ReadonlyMap<string, Room>,
    private readonly distribution: TrackDistribution,
    private readonly replace: (participant: Participant, removal: Removal) => void,
    private readonly log: Logger,
  ) {
    store.on('participantAdded', (record) => this.contained(() => this.participantAdded(record)));
    store.on('participantRemoved', (record) => this.contained(() => this.participantRemoved(record)));
    store.on('trackAdded', (record) => this.contained(() => this.trackAdded(record)));
    store.on('trackRemoved', (record) => this.contained(() => this.trackRemoved(record)));
    store.on('identityClaimed', (claim) => this.contained(() => this.identityClaimed(claim)));
  }

  /** A room this node starts holding learns who is in it elsewhere (from the store's view: no round trip). */
  populate(room: Room, nodeId: string): void {
    for (const record of this.store.participants(room.name)) {
      if (record.nodeId !== nodeId) room.remote.set(record.participantId, remoteParticipant(record));
    }
    for (const record of this.store.tracks(room.name)) {
      if (record.nodeId !== nodeId) room.remoteTracks.set(record.trackId, remoteTrack(record));
    }
  }

  private participantAdded(record: ParticipantRecord): void {
    const room = this.rooms.get(record.room);
    if (!room || room.remote.has(record.participantId)) return;
    room.remote.set(record.participantId, remoteParticipant(record));
    for (const other of room.joinedOthers()) {
      // A local participant of the same identity is being replaced by this one.
      if (other.identity !== record.identity) other.send({ participantJoined: { participant: { participantId: record.participantId, identity: record.identity } } });
    }
  }

  private participantRemoved(record: ParticipantRecord): void {
    const room = this.rooms.get(record.room);
    if (!room?.remote.delete(record.participantId)) return;
    for (const [trackId, track] of room.remoteTracks) {
      if (track.info.participantId !== record.participantId) continue;
      room.remoteTracks.delete(trackId);
      this.distribution.withdraw(room, trackId, record.participantId);
    }
    for (const other of room.joinedOthers()) other.send({ participantLeft: { participantId: record.participantId, identity: record.identity } });
  }

  private trackAdded(record: TrackRecord): void {
    const room = this.rooms.get(record.room);
    if (!room || room.remoteTracks.has(record.trackId)) return;
    const track = remoteTrack(record);
    room.remoteTracks.set(record.trackId, track);
    this.distribution.announce(room, track);
  }

  private trackRemoved(record: TrackRecord): void {
    const room = this.rooms.get(record.room);
    if (!room?.remoteTracks.delete(record.trackId)) return;
    this.distribution.withdraw(room, record.trackId, record.participantId);
  }

  /**
   * Another participant claimed an identity a local one holds. The feed may
   * deliver claims late (this node's own older claims included), so the
   * holder is read back from the store before anyone is removed.
   */
  private identityClaimed({ room: roomName, identity, participantId }: { room: string; identity: string; participantId: string }): void {
    const local = this.rooms.get(roomName)?.withIdentity(identity);
    if (!local || local.id === participantId) return;
    void this.store.identityHolder(roomName, identity).then(
      (holder) => {
        if (holder === undefined || holder === local.id || local.state === 'left') return;
        this.replace(local, { code: ErrorCode.REPLACED, message: 'another session joined with this identity' });
      },
      (error) => local.log.warn({ err: error }, 'could not check who holds this identity'),
    );
  }

  private contained(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.log.error({ err: error }, 'cluster change handler failed');
    }
  }
}
