import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryRoomStore } from '../../control/store/memory-room-store.js';
import type { TrackRecord } from '../../control/store/room-store.js';

const track = (trackId: string, room = 'r'): TrackRecord => ({
  trackId,
  room,
  participantId: 'PA_1',
  identity: 'alice',
  kind: 'video',
  codec: { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, channels: 0, fmtp: '' },
  nodeId: 'n',
  workerId: 0,
});

test('the memory store keeps rooms with their participants and tracks, and returns copies', async () => {
  const store = new MemoryRoomStore();
  await assert.rejects(store.putTrack(track('t1')), /not in the store/);
  await store.ensureRoom('r');
  const created = (await store.getRoom('r'))!.createdAtMs;
  await store.ensureRoom('r');
  assert.equal((await store.getRoom('r'))!.createdAtMs, created, 'a room keeps the time of its first creation');
  await store.putParticipant({ participantId: 'PA_1', room: 'r', identity: 'alice', nodeId: 'n', workerId: 0, joinedAtMs: 2 });
  await store.putTrack(track('t1'));
  await store.putTrack(track('t2'));
  assert.deepEqual(store.participants('r').map((p) => p.identity), ['alice']);
  const tracks = store.tracks('r');
  assert.deepEqual(tracks.map((t) => t.trackId), ['t1', 't2']);
  tracks[0]!.codec.payloadType = 1;
  assert.equal(store.tracks('r')[0]!.codec.payloadType, 96, 'callers get copies');
  await store.deleteRoomIfEmpty('r');
  assert.ok(await store.getRoom('r'), 'a room with a participant stays');
  await store.deleteTrack('r', 't1');
  await store.deleteParticipant('r', 'PA_1');
  assert.deepEqual(store.tracks('r').map((t) => t.trackId), ['t2']);
  assert.deepEqual(store.participants('r'), []);
  await store.deleteRoomIfEmpty('r');
  assert.equal(await store.getRoom('r'), undefined);
  assert.deepEqual(store.tracks('r'), []);
});

test('identity claims: the previous holder is named, releases only free what the releaser holds', async () => {
  const store = new MemoryRoomStore();
  await store.ensureRoom('r');
  const claims: string[] = [];
  store.on('identityClaimed', ({ participantId }) => claims.push(participantId));
  assert.equal(await store.claimIdentity('r', 'alice', 'PA_1'), undefined);
  assert.equal(await store.claimIdentity('r', 'alice', 'PA_2'), 'PA_1');
  await store.releaseIdentity('r', 'alice', 'PA_1');
  assert.equal(await store.claimIdentity('r', 'alice', 'PA_3'), 'PA_2', 'a stale release frees nothing');
  await store.releaseIdentity('r', 'alice', 'PA_3');
  assert.equal(await store.claimIdentity('r', 'alice', 'PA_4'), undefined);
  assert.deepEqual(claims, ['PA_1', 'PA_2', 'PA_3', 'PA_4']);
});
