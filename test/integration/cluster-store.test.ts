/**
 * The cluster store against a real 3-server NATS cluster (JetStream, KV
 * replicas 3): members see each other's records, identities are decided by
 * compare-and-set, a graceful close removes a node's records at once, bad
 * entries are ignored, and an unreachable NATS fails the start clearly.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { freeTcpPort } from '../../bench/harness/ports.js';
import { openCluster } from '../../control/cluster/open-cluster.js';
import { DeletionMarkers } from '../../control/cluster/deletion-markers.js';
import { identityKey, nodeKey, participantKey, STATE_BUCKET, trackKey } from '../../control/cluster/state-keys.js';
import { encodeStateRecord } from '../../control/cluster/state-records.js';
import { DEFAULT_CLUSTER, DEFAULT_CONFIG } from '../../control/config.js';
import { BucketLog, memoryLog, participantRecord, TestStore, trackRecord, waitFor } from '../support/cluster-stores.js';
import { natsForThisFile } from '../support/nats.js';

const env = natsForThisFile(3);
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function stores(...nodeIds: string[]): Promise<TestStore[]> {
  const opened = await Promise.all(nodeIds.map((id) => TestStore.open(env.nats, id)));
  open.push(...opened);
  return opened;
}

test('members on three nodes see each other\'s participants and tracks come and go, as events and in their views', async () => {
  const [a, b, c] = await stores('view-a', 'view-b', 'view-c');
  const room = 'lobby';
  await a!.store.ensureRoom(room);
  const created = (await a!.store.getRoom(room))!.createdAtMs;
  const alice = participantRecord('view-a', room, 'alice');
  const video = trackRecord(alice);
  await a!.store.putParticipant(alice);
  await a!.store.putTrack(video);
  await b!.store.ensureRoom(room);
  const bob = participantRecord('view-b', room, 'bob');
  await b!.store.putParticipant(bob);

  for (const member of [b!, c!]) {
    await waitFor(() => member.seen('trackAdded', video.trackId), 5000, `${member.nodeId} to hear of alice's track`);
    const added = member.seen('participantAdded', alice.participantId)!;
    assert.ok(added.at <= member.seen('trackAdded', video.trackId)!.at, 'a participant arrives before its track');
    assert.deepEqual(added.payload, alice);
  }
  await waitFor(() => a!.seen('participantAdded', bob.participantId), 5000, 'a to hear of bob');
  await waitFor(() => c!.seen('participantAdded', bob.participantId), 5000, 'c to hear of bob');
  assert.equal(a!.seen('participantAdded', alice.participantId), undefined, 'a node is not told of its own records');
  for (const member of [a!, b!, c!]) {
    assert.deepEqual(member.store.participants(room).map((p) => p.identity).sort(), ['alice', 'bob'], member.nodeId);
    assert.deepEqual(member.store.tracks(room), [video], member.nodeId);
    assert.equal((await member.store.getRoom(room))?.createdAtMs, created, 'the room keeps the time of its first creation');
  }

  const leaving = Date.now();
  await a!.store.deleteTrack(room, video.trackId);
  await a!.store.deleteParticipant(room, alice.participantId);
  await a!.store.deleteRoomIfEmpty(room);
  for (const member of [b!, c!]) {
    await waitFor(() => member.seen('participantRemoved', alice.participantId, leaving), 5000, `${member.nodeId} to hear alice leave`);
    assert.ok(member.seen('trackRemoved', video.trackId, leaving), 'her track went first');
    assert.deepEqual(member.store.tracks(room), []);
  }
  assert.ok(await c!.store.getRoom(room), 'bob is still in the room: its record stays');
  await b!.store.deleteParticipant(room, bob.participantId);
  await b!.store.deleteRoomIfEmpty(room);
  await waitFor(() => c!.store.participants(room).length === 0 && c!.store.view.room(room) === undefined, 5000, 'the empty room to be gone');
});

test('five concurrent claims of one identity from five nodes: exactly one holder, and every other claimant is told who replaced it', async () => {
  const members = await stores('claim-1', 'claim-2', 'claim-3', 'claim-4', 'claim-5');
  const room = 'claims';
  const key = identityKey(room, 'alice');
  const ids = members.map((m) => participantRecord(m.nodeId, room, 'alice').participantId);
  const previous = await Promise.all(members.map((m, i) => m.store.claimIdentity(room, 'alice', ids[i]!)));
  assert.ok(previous.filter((p) => p === undefined).length >= 1, 'a claim found the identity free');
  assert.ok(previous.every((p) => p === undefined || ids.includes(p)), 'claims only ever replace claimants');

  // Every claim has returned: the bucket holds the last one. Every view must come to name it.
  const raw = await BucketLog.start(env.nats);
  open.push(raw);
  const stored = await raw.kv.get(key);
  const holder = ids.find((id) => stored && Buffer.from(stored.value).includes(Buffer.from(id)))!;
  assert.ok(holder, 'the bucket names one of the claimants');
  const viewed = (m: TestStore) => {
    const entry = m.store.view.get(key);
    return entry?.state.kind === 'identity' ? entry.state.record.participantId : undefined;
  };
  await waitFor(() => members.every((m) => viewed(m) === holder), 5000, 'every view to name the holder');
  for (const m of members) assert.equal(await m.store.identityHolder(room, 'alice'), holder, `${m.nodeId} reads the holder from the bucket`);
  const told = (m: TestStore, mine: string) => m.events.some((e) => e.event === 'identityClaimed' && e.payload.participantId !== mine);
  for (let i = 0; i < members.length; i++) {
    if (ids[i] === holder) continue;
    await waitFor(() => told(members[i]!, ids[i]!), 5000, `${members[i]!.nodeId} to be told that another claimant replaced ${ids[i]}`);
  }
  const holding = members[ids.indexOf(holder)]!;
  assert.equal(told(holding, holder), false, 'the holder is never told of an older claim');
});

test('a graceful close removes the node\'s records at once, well before the node timeout', async (t) => {
  const [leaver, stayer] = await stores('close-a', 'close-b');
  const bucket = await BucketLog.start(env.nats);
  open.push(bucket);
  const room = 'closing';
  const alice = participantRecord('close-a', room, 'alice');
  const video = trackRecord(alice);
  await leaver!.store.ensureRoom(room);
  await leaver!.store.claimIdentity(room, 'alice', alice.participantId);
  await leaver!.store.putParticipant(alice);
  await leaver!.store.putTrack(video);
  await waitFor(() => stayer!.seen('trackAdded', video.trackId), 5000, 'the track to be seen');

  const closing = Date.now();
  await leaver!.close();
  open.splice(open.indexOf(leaver!), 1);
  await waitFor(() => stayer!.seen('participantRemoved', alice.participantId), 2000, 'the participant to be removed');
  const tookMs = stayer!.seen('participantRemoved', alice.participantId)!.at - closing;
  t.diagnostic(`records of a closed node gone from the others' views ${tookMs} ms after close()`);
  assert.ok(stayer!.seen('trackRemoved', video.trackId));
  await waitFor(() => stayer!.store.registry.nodes().every((n) => n.nodeId !== 'close-a'), 2000, 'its heartbeat to be gone');
  for (const key of [participantKey(room, alice.participantId), trackKey(room, video.trackId), identityKey(room, 'alice'), nodeKey('close-a')]) {
    await waitFor(() => bucket.deletions(key) === 1, 2000, `${key} deleted once`);
  }
  assert.equal(stayer!.store.view.room(room), undefined, 'the room it left empty is gone');
});

test('entries that are not valid records are ignored, and the members carry on', async () => {
  const [a, b] = await stores('bad-a', 'bad-b');
  const raw = await BucketLog.start(env.nats);
  open.push(raw);
  const room = 'hostile';
  const forged = participantRecord('bad-x', room, 'mallory');
  await raw.kv.put(participantKey(room, 'PA_garbage'), new Uint8Array([0xff, 0x01, 0x02, 0x03]));
  await raw.kv.put(participantKey(room, 'PA_elsewhere'), encodeStateRecord({ kind: 'participant', record: forged }));
  await raw.kv.put('not-ours.at.all', new Uint8Array([1]));
  await assert.rejects(raw.kv.put(participantKey(room, 'PA_huge'), new Uint8Array(100_000)), 'the bucket refuses values over 4 KiB');
  const bob = participantRecord('bad-a', room, 'bob');
  await a!.store.putParticipant(bob);
  await waitFor(() => b!.seen('participantAdded', bob.participantId), 5000, 'b to hear of bob after the bad entries');
  assert.deepEqual(b!.store.participants(room).map((p) => p.participantId), [bob.participantId], 'no bad entry is in the view');
  assert.equal(b!.events.filter((e) => e.payload.room === room).length, 1);
  await raw.kv.delete(participantKey(room, 'PA_garbage'));
  await raw.kv.delete(participantKey(room, 'PA_elsewhere'));
  await raw.kv.delete('not-ours.at.all');
});

test('deletion markers older than their retention are purged, and a value written after a marker stays', async () => {
  const [a, b] = await stores('marks-a', 'marks-b');
  const raw = await BucketLog.start(env.nats);
  open.push(raw);
  const room = 'marks';
  const gone = participantRecord('marks-a', room);
  const kept = participantRecord('marks-a', room);
  await a!.store.putParticipant(gone);
  await a!.store.putParticipant(kept);
  await a!.store.deleteParticipant(room, gone.participantId);
  await waitFor(() => b!.seen('participantRemoved', gone.participantId), 5000, 'b to see the deletion');
  assert.equal((await raw.kv.get(participantKey(room, gone.participantId)))?.operation, 'DEL', 'a marker is left');
  assert.equal(await a!.store.compactDeletionMarkers(), 0, 'young markers stay');
  assert.ok((await a!.store.compactDeletionMarkers(Date.now() + 2 * 3600_000)) >= 1);
  assert.equal(await raw.kv.get(participantKey(room, gone.participantId)), null, 'the marker is gone from the stream');
  assert.equal((await raw.kv.get(participantKey(room, kept.participantId)))?.operation, 'PUT', 'live values are not touched');
  assert.deepEqual(b!.store.participants(room).map((p) => p.participantId), [kept.participantId]);

  // A marker, then a new value before the purge: the purge stops at the marker's revision.
  const key = participantKey(room, 'PA_rewritten');
  const value = new TextEncoder().encode('x');
  await raw.kv.put(key, value);
  await raw.kv.delete(key);
  const marker = (await raw.kv.get(key))!;
  await raw.kv.put(key, value);
  const markers = new DeletionMarkers({ jsm: await raw.jetstreamManager(), stream: `KV_${STATE_BUCKET}`, subjectPrefix: `$KV.${STATE_BUCKET}.`, retentionMs: 0, log: memoryLog().log });
  markers.seen(key, marker.revision, 0, true);
  assert.equal(await markers.compact(), 1);
  assert.equal((await raw.kv.get(key))?.operation, 'PUT', 'the value written after the marker stays');
  await raw.kv.delete(key);
});

test('NATS unreachable at start: openCluster fails within its bound, naming the URL, after a log line per attempt', async (t) => {
  const url = `nats://127.0.0.1:${await freeTcpPort()}`;
  const { log, lines } = memoryLog();
  const started = Date.now();
  const config = { ...DEFAULT_CONFIG, nodeId: 'unreachable', cluster: { ...DEFAULT_CLUSTER, servers: [url], nodeTimeoutMs: 3000, kvReplicas: 1, connectTimeoutMs: 3000 } };
  await assert.rejects(openCluster(config, log), (error: Error) => error.message.includes(url) && /cannot reach NATS/.test(error.message));
  const tookMs = Date.now() - started;
  t.diagnostic(`gave up after ${tookMs} ms`);
  assert.ok(tookMs >= 1500 && tookMs < 3000 + 2000, `took ${tookMs} ms`);
  const retries = lines.filter((l) => l.level === 40 && String(l.msg).includes('NATS not reachable'));
  assert.ok(retries.length >= 2, `a warning per attempt: ${JSON.stringify(lines)}`);
  assert.ok(retries.every((l) => String(l.msg).includes(url) && (l.servers as string[]).includes(url)));
});
