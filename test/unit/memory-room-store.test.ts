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
  await store.putRoom({ name: 'r', createdAtMs: 1 });
  await store.putParticipant({ participantId: 'PA_1', room: 'r', identity: 'alice', nodeId: 'n', workerId: 0, joinedAtMs: 2 });
  await store.putTrack(track('t1'));
  await store.putTrack(track('t2'));
  assert.deepEqual((await store.listRooms()).map((r) => r.name), ['r']);
  assert.deepEqual((await store.listParticipants('r')).map((p) => p.identity), ['alice']);
  const tracks = await store.listTracks('r');
  assert.deepEqual(tracks.map((t) => t.trackId), ['t1', 't2']);
  tracks[0]!.codec.payloadType = 1;
  assert.equal((await store.listTracks('r'))[0]!.codec.payloadType, 96, 'callers get copies');
  await store.deleteTrack('r', 't1');
  await store.deleteParticipant('r', 'PA_1');
  assert.deepEqual((await store.listTracks('r')).map((t) => t.trackId), ['t2']);
  assert.deepEqual(await store.listParticipants('r'), []);
  await store.deleteRoom('r');
  assert.equal(await store.getRoom('r'), undefined);
  assert.deepEqual(await store.listTracks('r'), []);
});
