import type { shoal } from '../../proto/generated/shoal.js';

type Record<T> = { [K in Exclude<keyof T, '$unknowns'>]-?: NonNullable<T[K]> };

/** Records as proto/cluster.proto defines them, every field present. */
export type RoomRecord = Record<shoal.cluster.v1.RoomRecord.$Properties>;
export type ParticipantRecord = Record<shoal.cluster.v1.ParticipantRecord.$Properties>;
export type TrackRecord = Omit<Record<shoal.cluster.v1.TrackRecord.$Properties>, 'codec'> & {
  codec: Record<shoal.cluster.v1.CodecRecord.$Properties>;
};

/**
 * Where rooms, participants and tracks are recorded. A single node keeps them
 * in memory; a cluster keeps them in NATS JetStream KV so that any node sees
 * them and a restarted node reads its rooms back.
 */
export interface RoomStore {
  putRoom(room: RoomRecord): Promise<void>;
  getRoom(name: string): Promise<RoomRecord | undefined>;
  listRooms(): Promise<RoomRecord[]>;
  /** Deletes the room with its participants and tracks. */
  deleteRoom(name: string): Promise<void>;
  putParticipant(participant: ParticipantRecord): Promise<void>;
  listParticipants(room: string): Promise<ParticipantRecord[]>;
  deleteParticipant(room: string, participantId: string): Promise<void>;
  putTrack(track: TrackRecord): Promise<void>;
  listTracks(room: string): Promise<TrackRecord[]>;
  deleteTrack(room: string, trackId: string): Promise<void>;
  close(): Promise<void>;
}
