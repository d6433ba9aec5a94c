import type { EventEmitter } from 'node:events';
import type { shoal } from '../../proto/generated/shoal.js';

/** A protobufjs message's properties with every field present. */
export type Complete<T> = { [K in Exclude<keyof T, '$unknowns'>]-?: NonNullable<T[K]> };

/** Records as proto/cluster.proto defines them, every field present. */
export type RoomRecord = Complete<shoal.cluster.v1.RoomRecord.$Properties>;
export type ParticipantRecord = Complete<shoal.cluster.v1.ParticipantRecord.$Properties>;
export type TrackRecord = Omit<Complete<shoal.cluster.v1.TrackRecord.$Properties>, 'codec'> & {
  codec: Complete<shoal.cluster.v1.CodecRecord.$Properties>;
};

/**
 * What the store reports of records written by *other* nodes (or removed
 * for them when they died): the change feed that makes a remote participant
 * an ordinary member of a room. A node's own writes are not echoed back.
 * `identityClaimed` is reported for every claim, this node's included, and
 * may come late: the node holding a participant of that identity checks
 * `identityHolder` and removes its participant if another holds it now.
 */
export interface RoomStoreEvents {
  participantAdded: [ParticipantRecord];
  participantRemoved: [ParticipantRecord];
  trackAdded: [TrackRecord];
  trackRemoved: [TrackRecord];
  identityClaimed: [{ room: string; identity: string; participantId: string }];
}

/** The store cannot be reached now (NATS down): a request that needs it fails, the client may retry. */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

/**
 * Where rooms, participants and tracks are recorded. A single node keeps them
 * in memory (MemoryRoomStore); a cluster keeps them in NATS JetStream KV
 * (control/cluster/), so that every node sees every room's members and a dead
 * node's records are removed.
 *
 * Writes of this node's own records (participants, tracks) do not fail for
 * want of NATS: the store keeps them as the node's desired state and writes
 * them again when NATS is back. Reads (`participants`, `tracks`) come from the
 * store's local view, kept current by its change feed: no round trip.
 */
export interface RoomStore extends EventEmitter<RoomStoreEvents> {
  /** Ready to use: buckets exist, the view holds the current records, what this node's previous life left is removed. */
  start(): Promise<void>;
  /** Records the room unless it exists already (the first creation's time stays). */
  ensureRoom(name: string): Promise<void>;
  getRoom(name: string): Promise<RoomRecord | undefined>;
  /** Deletes the room's record when no node has a participant in it any more. */
  deleteRoomIfEmpty(name: string): Promise<void>;
  /**
   * Makes `participantId` the holder of `identity` in `room`, decided by
   * compare-and-set (never last-writer-wins). Resolves with the participant
   * that held it before, if another did: its node removes it (REPLACED).
   * Throws StoreUnavailable when it cannot be decided now.
   */
  claimIdentity(room: string, identity: string, participantId: string): Promise<string | undefined>;
  /** Who holds the identity now, read from the store itself (not the view): the last word on a replacement. */
  identityHolder(room: string, identity: string): Promise<string | undefined>;
  /** Frees the identity if `participantId` still holds it. */
  releaseIdentity(room: string, identity: string, participantId: string): Promise<void>;
  putParticipant(participant: ParticipantRecord): Promise<void>;
  deleteParticipant(room: string, participantId: string): Promise<void>;
  putTrack(track: TrackRecord): Promise<void>;
  deleteTrack(room: string, trackId: string): Promise<void>;
  /** Every participant of the room on every node, from the local view. */
  participants(room: string): ParticipantRecord[];
  /** Every track of the room on every node, from the local view. */
  tracks(room: string): TrackRecord[];
  /** Graceful end: this node's records are deleted at once, then the store closes. */
  close(): Promise<void>;
}
