/**
 * Node liveness against a real 3-server NATS cluster: nodes in child
 * processes are killed (SIGKILL), restarted with the same id, or frozen
 * (SIGSTOP) longer than the node timeout, while members in this process
 * watch what happens to their records.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { identityKey, nodeKey, participantKey, trackKey } from '../../control/cluster/state-keys.js';
import type { ParticipantRecord, TrackRecord } from '../../control/store/room-store.js';
import { BucketLog, participantRecord, StoreProcess, TEST_NODE_TIMEOUT_MS, TestStore, trackRecord, waitFor, type SeenEvent } from '../support/cluster-stores.js';
import { natsForThisFile } from '../support/nats.js';

let observers: TestStore[];
let bucket: BucketLog;
const children: StoreProcess[] = [];
// Registered before the NATS cluster's own `after`, so it runs first: the members leave while NATS is up.
after(async () => {
  await Promise.all(observers?.map((o) => o.close()) ?? []);
  await bucket?.close();
});
const env = natsForThisFile(3);

before(async () => {
  await env.ready;
  observers = await Promise.all(['watch-a', 'watch-b'].map((id) => TestStore.open(env.nats, id)));
  bucket = await BucketLog.start(env.nats);
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.signal('SIGKILL')));
});

async function child(nodeId: string, nodeTimeoutMs = TEST_NODE_TIMEOUT_MS): Promise<StoreProcess> {
  const started = await StoreProcess.start(env.nats, nodeId, { nodeTimeoutMs });
  children.push(started);
  return started;
}

/** A participant with an identity hold, an audio and a video track, written by `member`. */
async function populate(member: StoreProcess, room: string): Promise<{ participant: ParticipantRecord; tracks: TrackRecord[]; keys: string[] }> {
  const participant = participantRecord(member.nodeId, room, `${member.nodeId}-user`);
  const tracks = [trackRecord(participant, 'audio'), trackRecord(participant, 'video')];
  await member.request('ensureRoom', room);
  await member.request('claimIdentity', room, participant.identity, participant.participantId);
  await member.request('putParticipant', participant);
  for (const track of tracks) await member.request('putTrack', track);
  for (const o of observers) await waitFor(() => tracks.every((t) => o.seen('trackAdded', t.trackId)), 5000, `${o.nodeId} to see ${member.nodeId}'s tracks`);
  const keys = [participantKey(room, participant.participantId), ...tracks.map((t) => trackKey(room, t.trackId)), identityKey(room, participant.identity)];
  return { participant, tracks, keys };
}

const count = (o: TestStore, event: SeenEvent['event'], id: string) => o.events.filter((e) => e.event === event && (e.payload.participantId === id || e.payload.trackId === id)).length;

async function killAndMeasure(t: { diagnostic(message: string): void }, nodeId: string, nodeTimeoutMs: number): Promise<void> {
  const victim = await child(nodeId, nodeTimeoutMs);
  const room = `room-${nodeId}`;
  const { participant, tracks, keys } = await populate(victim, room);

  // At a random point of its heartbeat period (it wrote one when it started, a moment ago).
  await new Promise((resolve) => setTimeout(resolve, Math.random() * (nodeTimeoutMs / 5)));
  const killedAt = Date.now();
  await victim.signal('SIGKILL');
  for (const o of observers) {
    await waitFor(() => o.seen('participantRemoved', participant.participantId), nodeTimeoutMs + 5000, `${o.nodeId} to notice that ${nodeId} died`);
  }
  const noticedMs = Math.max(...observers.map((o) => o.seen('participantRemoved', participant.participantId)!.at)) - killedAt;
  const lastBeat = Math.max(...bucket.entries.filter((e) => e.key === nodeKey(nodeId) && e.operation === 'PUT').map((e) => e.at));
  t.diagnostic(`SIGKILLed node (timeout ${nodeTimeoutMs} ms) removed from every view ${noticedMs} ms after the kill (its last heartbeat ${killedAt - lastBeat} ms before the kill)`);
  assert.ok(noticedMs <= nodeTimeoutMs + 500, `noticed after ${noticedMs} ms, timeout ${nodeTimeoutMs} ms`);

  for (const key of [...keys, nodeKey(nodeId)]) await waitFor(() => bucket.deletions(key) >= 1, 2000, `${key} to be deleted`);
  // Two more heartbeat intervals: time for a second removal, if there were one.
  await new Promise((resolve) => setTimeout(resolve, (2 * TEST_NODE_TIMEOUT_MS) / 5));
  for (const key of [...keys, nodeKey(nodeId)]) assert.equal(bucket.deletions(key), 1, `${key} deleted exactly once`);
  for (const o of observers) {
    assert.equal(count(o, 'participantRemoved', participant.participantId), 1);
    for (const track of tracks) assert.equal(count(o, 'trackRemoved', track.trackId), 1);
    assert.deepEqual(o.store.participants(room), []);
    assert.deepEqual(o.store.tracks(room), []);
    assert.equal(o.store.view.ownedBy(nodeId).length, 0, 'no ghost');
    assert.ok(o.store.registry.nodes().every((n) => n.nodeId !== nodeId));
  }
}

test('a SIGKILLed node is noticed within the node timeout (3 s here) and its records are removed exactly once', async (t) => {
  await killAndMeasure(t, 'victim-short', TEST_NODE_TIMEOUT_MS);
});

test('a SIGKILLed node with the default 10 s timeout is noticed within it', async (t) => {
  await killAndMeasure(t, 'victim-default', 10_000);
});

test('a node restarted with the same id first removes what its previous life left, exactly once', async (t) => {
  const first = await child('reborn');
  const room = 'room-reborn';
  const old = await populate(first, room);
  await first.signal('SIGKILL');

  const restartedAt = Date.now();
  const second = await child('reborn');
  const readyMs = Date.now() - restartedAt;
  for (const o of observers) await waitFor(() => o.seen('participantRemoved', old.participant.participantId), 5000, `${o.nodeId} to see the old participant go`);
  t.diagnostic(`restarted node ready in ${readyMs} ms; its previous life gone from the views ${Math.max(...observers.map((o) => o.seen('participantRemoved', old.participant.participantId)!.at)) - restartedAt} ms after the restart began`);
  assert.ok(second.logs.some((l) => l.includes('previous life of this node')), 'the new life did it (the others had not judged the node dead yet)');
  const fresh = await populate(second, room);

  await new Promise((resolve) => setTimeout(resolve, TEST_NODE_TIMEOUT_MS + 1000));
  for (const key of old.keys.slice(0, 3)) assert.equal(bucket.deletions(key), 1, `${key} deleted exactly once`);
  for (const o of observers) {
    assert.deepEqual(o.store.participants(room).map((p) => p.participantId), [fresh.participant.participantId], 'the new life is alive and kept');
    assert.ok(o.store.registry.nodes().some((n) => n.nodeId === 'reborn'));
  }
});

test('a node cut off longer than the node timeout is treated as dead, and what it holds reappears when it comes back', async (t) => {
  const sleeper = await child('sleeper');
  const room = 'room-sleeper';
  const { participant, tracks } = await populate(sleeper, room);

  const stoppedAt = Date.now();
  await sleeper.signal('SIGSTOP');
  for (const o of observers) await waitFor(() => o.seen('participantRemoved', participant.participantId), TEST_NODE_TIMEOUT_MS + 5000, `${o.nodeId} to treat the frozen node as dead`);
  t.diagnostic(`frozen node removed ${Date.now() - stoppedAt} ms after SIGSTOP`);
  await new Promise((resolve) => setTimeout(resolve, 1000));

  const resumedAt = Date.now();
  await sleeper.signal('SIGCONT');
  for (const o of observers) {
    await waitFor(
      () => o.events.some((e) => e.event === 'participantAdded' && e.payload.participantId === participant.participantId && e.at >= resumedAt) && tracks.every((tr) => o.seen('trackAdded', tr.trackId, resumedAt)),
      10_000,
      () => `${o.nodeId} to see the node's records again; its log: ${sleeper.logs.slice(-8).join('\n')}`,
    );
  }
  t.diagnostic(`its records back in every view ${Math.max(...observers.map((o) => o.seen('trackAdded', tracks[1]!.trackId, resumedAt)!.at)) - resumedAt} ms after SIGCONT`);
  await waitFor(() => observers.every((o) => o.store.registry.nodes().some((n) => n.nodeId === 'sleeper')), 5000, 'its heartbeat to be back');
  await waitFor(
    () => observers.every((o) => o.store.view.ownedBy('sleeper').some((e) => e.key === identityKey(room, participant.identity))),
    5000,
    'its identity hold to be back',
  );
  await new Promise((resolve) => setTimeout(resolve, TEST_NODE_TIMEOUT_MS));
  for (const o of observers) assert.deepEqual(o.store.participants(room).map((p) => p.participantId), [participant.participantId], 'and it stays');
});
