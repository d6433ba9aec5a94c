import type { ParticipantRecord, RoomRecord, TrackRecord } from '../store/room-store.js';
import { isKeyToken, roomKey, type StateKind } from './state-keys.js';
import { decodeStateRecord, type StateRecord } from './state-records.js';

/** A record as last seen in the bucket, with the revision (stream sequence) it was written at. */
export interface ViewEntry {
  key: string;
  revision: number;
  state: StateRecord;
}

/** What one delivery changed: `before` absent for an addition, `after` absent for a removal. */
export interface StateChange {
  key: string;
  kind: StateKind;
  revision: number;
  before?: StateRecord;
  after?: StateRecord;
}

interface RoomIndex {
  participants: Map<string, ParticipantRecord>;
  tracks: Map<string, TrackRecord>;
}

/**
 * The local copy of the cluster state, fed with what the bucket's watcher
 * delivers. Deliveries may repeat (a watcher restarted, a resync): one at a
 * revision not newer than what the view holds for its key changes nothing.
 * Pure: no NATS in here, so it is tested on its own.
 */
export class StateView {
  private readonly entries = new Map<string, ViewEntry>();
  private readonly rooms = new Map<string, RoomIndex>();

  /**
   * A value (`undefined`: a deletion or purge marker) seen for `key` at
   * `revision`. Returns the change, or undefined when nothing changed.
   * Throws StateRecordError for a value that is not a valid record (the
   * caller then applies it as a deletion).
   */
  apply(key: string, value: Uint8Array | undefined, revision: number): StateChange | undefined {
    const current = this.entries.get(key);
    if (current && revision <= current.revision) return undefined;
    if (value === undefined) return current ? this.remove(current, revision) : undefined;
    const state = decodeStateRecord(key, value);
    this.entries.set(key, { key, revision, state });
    this.index(state, true);
    return { key, kind: state.kind, revision, before: current?.state, after: state };
  }

  /** Drops a key that is gone from the bucket without a marker the watcher could deliver (found by a resync). */
  forget(key: string): StateChange | undefined {
    const current = this.entries.get(key);
    return current && this.remove(current, current.revision);
  }

  get(key: string): ViewEntry | undefined {
    return this.entries.get(key);
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Every entry of one kind. */
  *ofKind<K extends StateKind>(kind: K): Generator<ViewEntry & { state: Extract<StateRecord, { kind: K }> }> {
    for (const entry of this.entries.values()) {
      if (entry.state.kind === kind) yield entry as ViewEntry & { state: Extract<StateRecord, { kind: K }> };
    }
  }

  room(name: string): RoomRecord | undefined {
    const entry = isKeyToken(name) ? this.entries.get(roomKey(name)) : undefined;
    return entry?.state.kind === 'room' ? entry.state.record : undefined;
  }

  participants(room: string): ParticipantRecord[] {
    return [...(this.rooms.get(room)?.participants.values() ?? [])];
  }

  tracks(room: string): TrackRecord[] {
    return [...(this.rooms.get(room)?.tracks.values() ?? [])];
  }

  /** Participants, tracks and identity holds recorded by `nodeId`. */
  ownedBy(nodeId: string): ViewEntry[] {
    return [...this.entries.values()].filter((e) => e.state.kind !== 'room' && e.state.kind !== 'node' && e.state.record.nodeId === nodeId);
  }

  /** The nodes that own a participant, track or identity hold. */
  owners(): Set<string> {
    const owners = new Set<string>();
    for (const { state } of this.entries.values()) if (state.kind !== 'room' && state.kind !== 'node') owners.add(state.record.nodeId);
    return owners;
  }

  private remove(current: ViewEntry, revision: number): StateChange {
    this.entries.delete(current.key);
    this.index(current.state, false);
    return { key: current.key, kind: current.state.kind, revision, before: current.state };
  }

  private index(state: StateRecord, present: boolean): void {
    if (state.kind !== 'participant' && state.kind !== 'track') return;
    const { room } = state.record;
    let index = this.rooms.get(room);
    if (!index) {
      if (!present) return;
      index = { participants: new Map(), tracks: new Map() };
      this.rooms.set(room, index);
    }
    if (state.kind === 'participant') {
      if (present) index.participants.set(state.record.participantId, state.record);
      else index.participants.delete(state.record.participantId);
    } else if (present) index.tracks.set(state.record.trackId, state.record);
    else index.tracks.delete(state.record.trackId);
    if (index.participants.size === 0 && index.tracks.size === 0) this.rooms.delete(room);
  }
}
