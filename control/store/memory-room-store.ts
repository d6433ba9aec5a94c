import { EventEmitter } from 'node:events';
import type { ParticipantRecord, RoomRecord, RoomStore, RoomStoreEvents, TrackRecord } from './room-store.js';

interface RoomEntry {
  room: RoomRecord;
  participants: Map<string, ParticipantRecord>;
  tracks: Map<string, TrackRecord>;
  identities: Map<string, string>;
}

/**
 * The single-node store: a map per room, gone with the process. Every record
 * is this node's own, so it reports no changes except identity claims.
 */
export class MemoryRoomStore extends EventEmitter<RoomStoreEvents> implements RoomStore {
  private readonly rooms = new Map<string, RoomEntry>();

  async start(): Promise<void> {}

  async ensureRoom(name: string): Promise<void> {
    if (!this.rooms.has(name)) {
      this.rooms.set(name, { room: { name, createdAtMs: Date.now() }, participants: new Map(), tracks: new Map(), identities: new Map() });
    }
  }

  async getRoom(name: string): Promise<RoomRecord | undefined> {
    const entry = this.rooms.get(name);
    return entry && { ...entry.room };
  }

  async deleteRoomIfEmpty(name: string): Promise<void> {
    if (this.rooms.get(name)?.participants.size === 0) this.rooms.delete(name);
  }

  async claimIdentity(room: string, identity: string, participantId: string): Promise<string | undefined> {
    const identities = this.entry(room).identities;
    const previous = identities.get(identity);
    identities.set(identity, participantId);
    this.emit('identityClaimed', { room, identity, participantId });
    return previous === participantId ? undefined : previous;
  }

  async identityHolder(room: string, identity: string): Promise<string | undefined> {
    return this.rooms.get(room)?.identities.get(identity);
  }

  async releaseIdentity(room: string, identity: string, participantId: string): Promise<void> {
    const identities = this.rooms.get(room)?.identities;
    if (identities?.get(identity) === participantId) identities.delete(identity);
  }

  async putParticipant(participant: ParticipantRecord): Promise<void> {
    this.entry(participant.room).participants.set(participant.participantId, { ...participant });
  }

  async deleteParticipant(room: string, participantId: string): Promise<void> {
    this.rooms.get(room)?.participants.delete(participantId);
  }

  async putTrack(track: TrackRecord): Promise<void> {
    this.entry(track.room).tracks.set(track.trackId, { ...track, codec: { ...track.codec } });
  }

  async deleteTrack(room: string, trackId: string): Promise<void> {
    this.rooms.get(room)?.tracks.delete(trackId);
  }

  participants(room: string): ParticipantRecord[] {
    return [...(this.rooms.get(room)?.participants.values() ?? [])].map((p) => ({ ...p }));
  }

  tracks(room: string): TrackRecord[] {
    return [...(this.rooms.get(room)?.tracks.values() ?? [])].map((t) => ({ ...t, codec: { ...t.codec } }));
  }

  async close(): Promise<void> {
    this.rooms.clear();
  }

  private entry(room: string): RoomEntry {
    const entry = this.rooms.get(room);
    if (!entry) throw new Error(`room ${room} is not in the store`);
    return entry;
  }
}
