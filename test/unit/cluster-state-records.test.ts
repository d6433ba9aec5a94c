import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identityKey, nodeKey, parseStateKey, participantKey, roomKey, trackKey } from '../../control/cluster/state-keys.js';
import { decodeStateRecord, encodeStateRecord, keyOf, MAX_RECORD_BYTES, StateRecordError, type StateRecord } from '../../control/cluster/state-records.js';
import { shoal } from '../../proto/generated/shoal.js';

const participant: StateRecord = {
  kind: 'participant',
  record: { participantId: 'PA_0123456789abcdef01234567', room: 'lobby', identity: 'alice', nodeId: 'node-1', workerId: 2, joinedAtMs: 1_700_000_000_000 },
};
const track: StateRecord = {
  kind: 'track',
  record: {
    trackId: 'TR_0123456789abcdef01234567',
    room: 'lobby',
    participantId: 'PA_0123456789abcdef01234567',
    identity: 'alice',
    kind: 'video',
    codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, channels: 0, fmtp: '' },
    nodeId: 'node-1',
    workerId: 2,
  },
};
const all: StateRecord[] = [
  { kind: 'room', record: { name: 'lobby', createdAtMs: 5 } },
  participant,
  track,
  { kind: 'identity', record: { room: 'lobby', identity: 'alice', participantId: 'PA_1', nodeId: 'node-1', claimedAtMs: 7 } },
  { kind: 'node', record: { nodeId: 'node-1', instanceId: 'abc', startedAtMs: 1, heartbeatAtMs: 2, timeoutMs: 10_000 } },
];

test('state keys name each kind under its own prefix and read back', () => {
  assert.equal(roomKey('lobby'), 'rooms.lobby');
  assert.equal(participantKey('lobby', 'PA_1'), 'participants.lobby.PA_1');
  assert.equal(trackKey('lobby', 'TR_1'), 'tracks.lobby.TR_1');
  assert.equal(identityKey('lobby', 'alice'), 'identities.lobby.alice');
  assert.equal(nodeKey('node-1'), 'nodes.node-1');
  assert.deepEqual(parseStateKey('tracks.lobby.TR_1'), { kind: 'track', room: 'lobby', id: 'TR_1' });
  assert.deepEqual(parseStateKey('rooms.lobby'), { kind: 'room', room: 'lobby', id: 'lobby' });
  assert.deepEqual(parseStateKey('nodes.n'), { kind: 'node', room: '', id: 'n' });
  for (const bad of ['rooms', 'rooms.a.b', 'participants.a', 'participants.a.b.c', 'other.a', 'tracks.a.*', 'tracks.a.>', 'nodes.', `nodes.${'x'.repeat(65)}`, '']) {
    assert.equal(parseStateKey(bad), undefined, bad);
  }
  assert.throws(() => roomKey('a.b'), /cannot be part of a state key/);
  assert.throws(() => participantKey('lobby', '>'), /cannot be part of a state key/);
});

test('every kind of record survives encoding and decoding under its key', () => {
  for (const entry of all) assert.deepEqual(decodeStateRecord(keyOf(entry), encodeStateRecord(entry)), entry);
});

test('values that are not valid records are refused with StateRecordError, never trusted', () => {
  const value = encodeStateRecord(participant);
  const refused = (key: string, bytes: Uint8Array, why: RegExp) => assert.throws(() => decodeStateRecord(key, bytes), (e: unknown) => e instanceof StateRecordError && why.test(e.message));
  refused('participants.other.PA_0123456789abcdef01234567', value, /names another key/);
  refused('tracks.lobby.PA_0123456789abcdef01234567', value, /names another key|not a|track kind/);
  refused('nonsense.key', value, /unknown key/);
  refused(keyOf(participant), new Uint8Array([0xff, 0xff, 0xff]), /not a/);
  refused(keyOf(participant), new Uint8Array(MAX_RECORD_BYTES + 1), /bytes/);
  const encode = (record: object) => shoal.cluster.v1.ParticipantRecord.encode(record).finish();
  refused(keyOf(participant), encode({ ...participant.record, nodeId: 'a.b' }), /nodeId/);
  refused(keyOf(participant), encode({ ...participant.record, joinedAtMs: Number.NaN }), /joinedAtMs/);
  const badTrack = (change: object) => shoal.cluster.v1.TrackRecord.encode({ ...(track.record as object), ...change }).finish();
  refused(keyOf(track), badTrack({ kind: 'screen' }), /track kind/);
  refused(keyOf(track), badTrack({ codec: { mimeType: 'x'.repeat(600) } }), /mimeType/);
});
