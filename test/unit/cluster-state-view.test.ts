import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeStateRecord, keyOf, StateRecordError, type StateRecord } from '../../control/cluster/state-records.js';
import { StateView } from '../../control/cluster/state-view.js';

const participant = (id: string, nodeId: string, room = 'lobby'): StateRecord => ({
  kind: 'participant',
  record: { participantId: id, room, identity: `who-${id}`, nodeId, workerId: 0, joinedAtMs: 1 },
});
const identity = (participantId: string, nodeId: string): StateRecord => ({
  kind: 'identity',
  record: { room: 'lobby', identity: 'alice', participantId, nodeId, claimedAtMs: 1 },
});
const put = (view: StateView, state: StateRecord, revision: number) => view.apply(keyOf(state), encodeStateRecord(state), revision);

test('the view applies additions, changes and deletions once, whatever is delivered again', () => {
  const view = new StateView();
  const p1 = participant('PA_1', 'a');
  assert.deepEqual(put(view, p1, 1), { key: keyOf(p1), kind: 'participant', revision: 1, before: undefined, after: p1 });
  assert.equal(put(view, p1, 1), undefined, 'a repeated delivery changes nothing');
  assert.deepEqual(view.participants('lobby'), [p1.record]);
  const held = put(view, identity('PA_1', 'a'), 2)!;
  const taken = put(view, identity('PA_9', 'b'), 3)!;
  assert.equal(held.before, undefined);
  assert.deepEqual(taken.before, identity('PA_1', 'a'));
  assert.equal(put(view, identity('PA_1', 'a'), 2), undefined, 'an older value does not come back');
  const removed = view.apply(keyOf(p1), undefined, 4)!;
  assert.deepEqual(removed.before, p1);
  assert.equal(removed.after, undefined);
  assert.equal(view.apply(keyOf(p1), undefined, 4), undefined);
  assert.equal(view.apply('participants.lobby.PA_unknown', undefined, 5), undefined, 'a marker for a key never seen changes nothing');
  assert.deepEqual(view.participants('lobby'), []);
});

test('the view knows each node\'s records and forgets keys a resync no longer finds', () => {
  const view = new StateView();
  put(view, participant('PA_1', 'a'), 1);
  put(view, participant('PA_2', 'b'), 2);
  put(view, participant('PA_3', 'b', 'other'), 3);
  put(view, identity('PA_2', 'b'), 4);
  put(view, { kind: 'room', record: { name: 'lobby', createdAtMs: 1 } }, 5);
  put(view, { kind: 'node', record: { nodeId: 'b', instanceId: 'i', startedAtMs: 1, heartbeatAtMs: 1, timeoutMs: 3000 } }, 6);
  assert.deepEqual(view.ownedBy('b').map((e) => e.key).sort(), ['identities.lobby.alice', 'participants.lobby.PA_2', 'participants.other.PA_3']);
  assert.deepEqual([...view.owners()].sort(), ['a', 'b']);
  assert.equal(view.room('lobby')?.createdAtMs, 1);
  assert.equal(view.room('no.such'), undefined);
  assert.deepEqual(view.forget('participants.other.PA_3')?.before, participant('PA_3', 'b', 'other'));
  assert.deepEqual(view.tracks('other'), []);
  assert.deepEqual([...view.ofKind('node')].map((e) => e.key), ['nodes.b']);
});

test('a value that is not a record throws StateRecordError and leaves the view as it was', () => {
  const view = new StateView();
  put(view, participant('PA_1', 'a'), 1);
  assert.throws(() => view.apply('participants.lobby.PA_1', new Uint8Array([1, 2, 3]), 2), StateRecordError);
  assert.equal(view.participants('lobby').length, 1);
});
