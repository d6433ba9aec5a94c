/**
 * NATS faults under running members: one server of three restarted, then all
 * three. Members reconnect by themselves, nobody is judged dead for it, and
 * writes made while NATS was away reach the bucket once it is back.
 */
import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { participantKey, trackKey } from '../../control/cluster/state-keys.js';
import { BucketLog, participantRecord, TEST_NODE_TIMEOUT_MS, TestStore, trackRecord, waitFor } from '../support/cluster-stores.js';
import { natsForThisFile } from '../support/nats.js';

const open: Array<{ close(): Promise<void> }> = [];
const closeAll = async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
};
afterEach(async () => {
  await env.nats.startAll(); // a failed test may have left servers down
  await closeAll();
});
after(closeAll); // before the cluster's own `after` (registered below): members leave while NATS is up
const env = natsForThisFile(3);

async function members(...nodeIds: string[]): Promise<TestStore[]> {
  const opened = await Promise.all(nodeIds.map((id) => TestStore.open(env.nats, id)));
  open.push(...opened);
  return opened;
}

async function bucketLog(): Promise<BucketLog> {
  const log = await BucketLog.start(env.nats);
  open.push(log);
  return log;
}

/** When `member`'s connection next reports `event` (Date.now()). */
function next(member: TestStore, event: 'disconnected' | 'reconnected'): Promise<number> {
  return new Promise((resolve) => member.cluster.status.once(event, () => resolve(Date.now())));
}

const removals = (m: TestStore) => m.events.filter((e) => e.event === 'participantRemoved' || e.event === 'trackRemoved');

test('one NATS server of three restarted: its clients reconnect, nobody is judged dead, state writes go on', async (t) => {
  const [a, b, c] = await members('one-a', 'one-b', 'one-c');
  const room = 'one-down';
  const before = [a!, b!, c!].map((m) => participantRecord(m.nodeId, room));
  await Promise.all([a!, b!, c!].map((m, i) => m.store.putParticipant(before[i]!)));
  await waitFor(() => [a!, b!, c!].every((m) => m.store.participants(room).length === 3), 5000, 'everyone to see everyone');

  const server = env.nats.servers.findIndex((s) => a!.cluster.connection.getServer().endsWith(`:${s.clientPort}`));
  assert.ok(server >= 0, 'a is connected to one of the servers');
  const lost = next(a!, 'disconnected');
  const back = next(a!, 'reconnected');
  const killedAt = Date.now();
  await env.nats.kill(server);
  await lost;
  const late = participantRecord('one-a', room);
  await a!.store.putParticipant(late); // made while a's connection was down or just back
  const reconnectedAt = await back;
  t.diagnostic(`a reconnected to another server ${reconnectedAt - killedAt} ms after its server was killed`);
  // If the killed server led the bucket's stream, writes wait for a new leader: a Raft election of 4 to 9 s in nats-server 2.9.
  await waitFor(() => b!.seen('participantAdded', late.participantId), 20_000, 'b to see the write a made during the fault');
  t.diagnostic(`a's write made during the fault seen by b ${b!.seen('participantAdded', late.participantId)!.at - killedAt} ms after the kill`);

  await env.nats.restart(server);
  await new Promise((resolve) => setTimeout(resolve, TEST_NODE_TIMEOUT_MS + 1000));
  for (const m of [a!, b!, c!]) {
    assert.deepEqual(removals(m), [], `${m.nodeId} judged nobody dead`);
    assert.equal(m.store.participants(room).length, 4, m.nodeId);
  }
});

test('all three NATS servers restarted: members reconnect, re-assert their state, and writes made during the outage are in the bucket afterwards', async (t) => {
  const [a, b] = await members('all-a', 'all-b');
  const bucket = await bucketLog();
  const room = 'all-down';
  const staying = participantRecord('all-a', room);
  const leaving = participantRecord('all-a', room);
  await a!.store.ensureRoom(room);
  await a!.store.putParticipant(staying);
  await a!.store.putParticipant(leaving);
  await waitFor(() => b!.store.participants(room).length === 2, 5000, 'b to see a\'s participants');
  await bucket.close();
  open.splice(open.indexOf(bucket), 1);

  const lost = Promise.all([next(a!, 'disconnected'), next(b!, 'disconnected')]);
  const back = Promise.all([next(a!, 'reconnected'), next(b!, 'reconnected')]);
  await Promise.all(env.nats.servers.map((_, i) => env.nats.kill(i)));
  await lost;
  // Written while no server runs: nats.js would drop these silently; the store keeps them as desired state.
  const joined = participantRecord('all-a', room);
  const published = trackRecord(participantRecord('all-b', room));
  const writes = Date.now();
  await a!.store.putParticipant(joined);
  await a!.store.deleteParticipant(room, leaving.participantId);
  await b!.store.putTrack(published);
  assert.ok(Date.now() - writes < 100, 'writes during the outage do not block');
  assert.deepEqual(a!.store.participants(room).map((p) => p.participantId).sort(), [staying.participantId, joined.participantId].sort(), 'a\'s own view shows its desired state');
  await new Promise((resolve) => setTimeout(resolve, TEST_NODE_TIMEOUT_MS + 1000)); // longer than the node timeout

  const restartedAt = Date.now();
  await env.nats.startAll();
  const readyAt = Date.now();
  const reconnected = Math.max(...(await back));
  t.diagnostic(`cluster ready ${readyAt - restartedAt} ms after the restart; members reconnected ${reconnected - restartedAt} ms after it`);
  await waitFor(() => b!.seen('participantAdded', joined.participantId), 20_000, 'b to see the participant a added during the outage');
  await waitFor(() => b!.seen('participantRemoved', leaving.participantId), 20_000, 'b to see the participant a removed during the outage go');
  await waitFor(() => a!.seen('trackAdded', published.trackId), 20_000, 'a to see the track b published during the outage');
  const settled = Math.max(b!.seen('participantAdded', joined.participantId)!.at, b!.seen('participantRemoved', leaving.participantId)!.at, a!.seen('trackAdded', published.trackId)!.at);
  t.diagnostic(`outage writes reconciled and seen across members ${settled - readyAt} ms after the cluster was ready (${settled - restartedAt} ms after the restart)`);

  const check = await bucketLog();
  assert.ok(await check.kv.get(participantKey(room, joined.participantId)).then((e) => e?.operation === 'PUT'), 'the participant added during the outage is in the bucket');
  assert.equal((await check.kv.get(participantKey(room, leaving.participantId)))?.operation, 'DEL', 'the one removed during the outage is deleted');
  assert.ok(await check.kv.get(trackKey(room, published.trackId)).then((e) => e?.operation === 'PUT'), 'the track published during the outage is in the bucket');
  await new Promise((resolve) => setTimeout(resolve, TEST_NODE_TIMEOUT_MS));
  assert.deepEqual(removals(b!).map((e) => e.payload.participantId), [leaving.participantId], 'nobody was judged dead for the outage');
  assert.deepEqual(removals(a!), []);
  assert.deepEqual(b!.store.participants(room).map((p) => p.participantId).sort(), [staying.participantId, joined.participantId].sort());
});

test('a record of a live node deleted behind its back is put back', async () => {
  const [a, b] = await members('back-a', 'back-b');
  const raw = await bucketLog();
  const room = 'behind';
  const alice = participantRecord('back-a', room);
  await a!.store.putParticipant(alice);
  await waitFor(() => b!.seen('participantAdded', alice.participantId), 5000, 'b to see alice');
  await raw.kv.delete(participantKey(room, alice.participantId));
  const events = () => b!.events.filter((e) => e.payload.participantId === alice.participantId).map((e) => e.event);
  await waitFor(() => events().length === 3, 5000, () => `alice to go and come back at b: ${events().join(', ')}`);
  assert.deepEqual(events(), ['participantAdded', 'participantRemoved', 'participantAdded']);
  assert.equal((await raw.kv.get(participantKey(room, alice.participantId)))?.operation, 'PUT');
});
