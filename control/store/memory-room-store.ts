import type { ParticipantRecord, RoomRecord, RoomStore, TrackRecord } from './room-store.js';

interface RoomEntry {
  room: RoomRecord;
  participants: Map<string, ParticipantRecord>;
  tracks: Map<string, TrackRecord>;
}

/** The single-node store: a map per room, gone with the process. */
export class MemoryRoomStore implements RoomStore {
  private readonly rooms = new Map<string, RoomEntry>();

  async putRoom(room: RoomRecord): Promise<void> {
    const entry = this.rooms.get(room.name);
    if (entry) entry.room = { ...room };
    else this.rooms.set(room.name, { room: { ...room }, participants: new Map(), tracks: new Map() });
  }

  async getRoom(name: string): Promise<RoomRecord | undefined> {
    const entry = this.rooms.get(name);
    return entry && { ...entry.room };
  }

  async listRooms(): Promise<RoomRecord[]> {
    return [...this.rooms.values()].map((e) => ({ ...e.room }));
  }

  async deleteRoom(name: string): Promise<void> {
    this.rooms.delete(name);
  }

  async putParticipant(participant: ParticipantRecord): Promise<void> {
    this.entry(participant.room).participants.set(participant.participantId, { ...participant });
  }

  async listParticipants(room: string): Promise<ParticipantRecord[]> {
    return [...(this.rooms.get(room)?.participants.values() ?? [])].map((p) => ({ ...p }));
  }

  async deleteParticipant(room: string, participantId: string): Promise<void> {
    this.rooms.get(room)?.participants.delete(participantId);
  }

  async putTrack(track: TrackRecord): Promise<void> {
    this.entry(track.room).tracks.set(track.trackId, { ...track, codec: { ...track.codec } });
  }

  async listTracks(room: string): Promise<TrackRecord[]> {
    return [...(this.rooms.get(room)?.tracks.values() ?? [])].map((t) => ({ ...t, codec: { ...t.codec } }));
  }

  async deleteTrack(room: string, trackId: string): Promise<void> {
    this.rooms.get(room)?.tracks.delete(trackId);
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
