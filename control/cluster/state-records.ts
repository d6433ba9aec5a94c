import { shoal } from '../../proto/generated/shoal.js';
import type { Complete, ParticipantRecord, RoomRecord, TrackRecord } from '../store/room-store.js';
import { identityKey, isKeyToken, nodeKey, parseStateKey, participantKey, roomKey, trackKey } from './state-keys.js';

const messages = shoal.cluster.v1;

export type IdentityRecord = Complete<shoal.cluster.v1.IdentityRecord.$Properties>;
export type NodeRecord = Complete<shoal.cluster.v1.NodeRecord.$Properties>;

/** A record of the cluster state with its kind. */
export type StateRecord =
  | { kind: 'room'; record: RoomRecord }
  | { kind: 'participant'; record: ParticipantRecord }
  | { kind: 'track'; record: TrackRecord }
  | { kind: 'identity'; record: IdentityRecord }
  | { kind: 'node'; record: NodeRecord };

export type RecordOf<K extends StateRecord['kind']> = Extract<StateRecord, { kind: K }>['record'];

/** Largest value the bucket accepts (its `max_msg_size`); records are far smaller. */
export const MAX_RECORD_BYTES = 4096;
/** Longest free-text field (codec MIME type and fmtp line). */
const MAX_TEXT = 512;
/** Node timeouts a heartbeat may declare, ms: anything else is clamped when judged. */
export const NODE_TIMEOUT_RANGE = { min: 1000, max: 600_000 } as const;

/** A value in the bucket that is not a record Shoal wrote: ignored (and logged), never trusted. */
export class StateRecordError extends Error {
  override readonly name = 'StateRecordError';
}

/** The key a record is stored under. */
export function keyOf(entry: StateRecord): string {
  switch (entry.kind) {
    case 'room':
      return roomKey(entry.record.name);
    case 'participant':
      return participantKey(entry.record.room, entry.record.participantId);
    case 'track':
      return trackKey(entry.record.room, entry.record.trackId);
    case 'identity':
      return identityKey(entry.record.room, entry.record.identity);
    case 'node':
      return nodeKey(entry.record.nodeId);
  }
}

export function encodeStateRecord(entry: StateRecord): Uint8Array {
  switch (entry.kind) {
    case 'room':
      return messages.RoomRecord.encode(entry.record).finish();
    case 'participant':
      return messages.ParticipantRecord.encode(entry.record).finish();
    case 'track':
      return messages.TrackRecord.encode(entry.record).finish();
    case 'identity':
      return messages.IdentityRecord.encode(entry.record).finish();
    case 'node':
      return messages.NodeRecord.encode(entry.record).finish();
  }
}

/**
 * Decodes the value of `key` and checks it: a known key, a well-formed
 * message whose names and ids are valid key tokens and agree with the key,
 * finite numbers, bounded text. Anything else throws StateRecordError: a
 * buggy or hostile writer costs its own records, never the reader.
 */
export function decodeStateRecord(key: string, value: Uint8Array): StateRecord {
  const parsed = parseStateKey(key);
  if (!parsed) throw new StateRecordError(`unknown key ${JSON.stringify(key.slice(0, 200))}`);
  if (value.length > MAX_RECORD_BYTES) throw new StateRecordError(`${key}: value of ${value.length} bytes`);
  const entry = decodeMessage(parsed.kind, key, value);
  if (keyOf(entry) !== key) throw new StateRecordError(`${key}: the record names another key (${keyOf(entry)})`);
  return entry;
}

function decodeMessage(kind: StateRecord['kind'], key: string, value: Uint8Array): StateRecord {
  const check = new FieldCheck(key);
  switch (kind) {
    case 'room': {
      const m = decodeWith(messages.RoomRecord, key, value);
      return { kind, record: { name: check.token('name', m.name), createdAtMs: check.time('createdAtMs', m.createdAtMs) } };
    }
    case 'participant': {
      const m = decodeWith(messages.ParticipantRecord, key, value);
      return {
        kind,
        record: {
          participantId: check.token('participantId', m.participantId),
          room: check.token('room', m.room),
          identity: check.token('identity', m.identity),
          nodeId: check.token('nodeId', m.nodeId),
          workerId: m.workerId,
          joinedAtMs: check.time('joinedAtMs', m.joinedAtMs),
        },
      };
    }
    case 'track': {
      const m = decodeWith(messages.TrackRecord, key, value);
      if (m.kind !== 'audio' && m.kind !== 'video') throw new StateRecordError(`${key}: track kind ${JSON.stringify(m.kind.slice(0, 20))}`);
      const codec = m.codec instanceof messages.CodecRecord ? m.codec : new messages.CodecRecord();
      return {
        kind,
        record: {
          trackId: check.token('trackId', m.trackId),
          room: check.token('room', m.room),
          participantId: check.token('participantId', m.participantId),
          identity: check.token('identity', m.identity),
          kind: m.kind,
          codec: {
            mimeType: check.text('codec.mimeType', codec.mimeType),
            payloadType: codec.payloadType,
            clockRate: codec.clockRate,
            channels: codec.channels,
            fmtp: check.text('codec.fmtp', codec.fmtp),
          },
          nodeId: check.token('nodeId', m.nodeId),
          workerId: m.workerId,
        },
      };
    }
    case 'identity': {
      const m = decodeWith(messages.IdentityRecord, key, value);
      return {
        kind,
        record: {
          room: check.token('room', m.room),
          identity: check.token('identity', m.identity),
          participantId: check.token('participantId', m.participantId),
          nodeId: check.token('nodeId', m.nodeId),
          claimedAtMs: check.time('claimedAtMs', m.claimedAtMs),
        },
      };
    }
    case 'node': {
      const m = decodeWith(messages.NodeRecord, key, value);
      return {
        kind,
        record: {
          nodeId: check.token('nodeId', m.nodeId),
          instanceId: check.token('instanceId', m.instanceId),
          startedAtMs: check.time('startedAtMs', m.startedAtMs),
          heartbeatAtMs: check.time('heartbeatAtMs', m.heartbeatAtMs),
          timeoutMs: m.timeoutMs,
        },
      };
    }
  }
}

function decodeWith<T>(type: { decode(data: Uint8Array): T }, key: string, value: Uint8Array): T {
  try {
    return type.decode(value);
  } catch (error) {
    throw new StateRecordError(`${key}: not a ${(type as unknown as { name: string }).name}: ${(error as Error).message}`);
  }
}

class FieldCheck {
  constructor(private readonly key: string) {}

  token(field: string, value: string): string {
    if (!isKeyToken(value)) throw new StateRecordError(`${this.key}: ${field} ${JSON.stringify(value.slice(0, 80))} is not a name or id`);
    return value;
  }

  text(field: string, value: string): string {
    if (value.length > MAX_TEXT) throw new StateRecordError(`${this.key}: ${field} of ${value.length} characters`);
    return value;
  }

  time(field: string, value: number): number {
    if (!Number.isFinite(value) || value < 0) throw new StateRecordError(`${this.key}: ${field} is ${value}`);
    return value;
  }
}
