import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { SignalingClient, type ServerEvent } from '../../bench/client/signaling-client.js';
import { errorCode, sfuForThisFile, waitUntil } from '../support/peers.js';
import { startSfu } from '../support/sfu.js';

const MAX_PER_ROOM = 3;
const env = sfuForThisFile({ limits: { maxParticipantsPerRoom: MAX_PER_ROOM } });
const sockets: SignalingClient[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

async function connect(url = env.sfu.url): Promise<SignalingClient> {
  const client = await SignalingClient.connect(url, 'json');
  sockets.push(client);
  return client;
}

/** The participants a client has been told of (joined, then participantJoined/Left), by participant id. */
function roster(client: SignalingClient): Map<string, string> {
  const seen = new Map<string, string>();
  for (const event of client.received) {
    if (event.message === 'joined') {
      for (const p of (event.joined as { participants: Array<{ participantId: string; identity: string }> }).participants) seen.set(p.participantId, p.identity);
    }
    if (event.message === 'participantJoined') {
      const p = (event.participantJoined as { participant: { participantId: string; identity: string } }).participant;
      seen.set(p.participantId, p.identity);
    }
    if (event.message === 'participantLeft') seen.delete((event.participantLeft as { participantId: string }).participantId);
  }
  return seen;
}

/** The error that ended a client's session (its join's error reply, or a removal after `joined`), if any. */
function endedWith(client: SignalingClient): string | undefined {
  const error = client.received.find((e) => e.message === 'error');
  return error && errorCode(error);
}

describe('membership', { timeout: 60_000 }, () => {
  test('five concurrent joins with one identity: exactly one stays, the others end with an error, nobody sees ghosts', async () => {
    const observer = await connect();
    assert.equal((await observer.request({ join: { room: 'dup', identity: 'observer' } })).message, 'joined');
    const contenders = await Promise.all(Array.from({ length: 5 }, () => connect()));
    // All five frames leave before any reply comes back.
    const replies = await Promise.all(contenders.map((c) => c.request({ join: { room: 'dup', identity: 'twin' } })));
    assert.ok(replies.every((r) => r.message === 'joined' || errorCode(r) === 'REPLACED'), JSON.stringify(replies.map((r) => r.message)));
    await waitUntil(() => contenders.filter((c) => endedWith(c) !== undefined).length === 4, 10_000, 'four contenders to end');
    const winners = contenders.filter((c) => endedWith(c) === undefined);
    assert.equal(winners.length, 1, 'exactly one stays');
    for (const loser of contenders.filter((c) => c !== winners[0])) {
      assert.equal(endedWith(loser), 'REPLACED');
      const reply = await loser.request({ data: { text: 'from a zombie' } });
      assert.equal(errorCode(reply), 'NOT_JOINED', 'a replaced session cannot act in the room');
    }
    const winnerId = (replies[contenders.indexOf(winners[0]!)]!.joined as { participantId: string }).participantId;
    await waitUntil(() => roster(observer).size === 1, 5000, 'the observer to see one twin');
    assert.deepEqual([...roster(observer)], [[winnerId, 'twin']], 'the observer sees exactly the winner');
    const inRoom = env.sfu.node.rooms.dump().find((r) => r.name === 'dup')!.participants;
    assert.deepEqual(inRoom.map((p) => p.identity).sort(), ['observer', 'twin']);
    winners[0]!.send({ data: { text: 'from the winner' } });
    const got = await observer.waitFor((e) => e.message === 'data');
    assert.equal((got.data as { fromParticipantId: string }).fromParticipantId, winnerId);
  });

  test(`a room takes at most --max-participants-per-room (${MAX_PER_ROOM}); others are unaffected; a place that frees up can be taken`, async () => {
    const members: SignalingClient[] = [];
    for (let i = 0; i < MAX_PER_ROOM; i++) {
      const c = await connect();
      assert.equal((await c.request({ join: { room: 'full', identity: `m${i}` } })).message, 'joined');
      members.push(c);
    }
    const late = await connect();
    const refused = await late.request({ join: { room: 'full', identity: 'late' } });
    assert.equal(errorCode(refused), 'ROOM_FULL');
    assert.match((refused.error as { message: string }).message, /full|most/);
    assert.equal((await late.request({ join: { room: 'elsewhere', identity: 'late' } })).message, 'joined', 'other rooms are open');
    // Replacing an identity already in the full room is not a newcomer.
    const again = await connect();
    assert.equal((await again.request({ join: { room: 'full', identity: 'm0' } })).message, 'joined');
    assert.equal((await members[1]!.request({ leave: {} })).message, 'left');
    const next = await connect();
    assert.equal((await next.request({ join: { room: 'full', identity: 'next' } })).message, 'joined');
  });

  test('a drain answers every join in flight: joined and then SHUTTING_DOWN, or SHUTTING_DOWN', async () => {
    const sfu = await startSfu({ workers: 2 });
    // The drain begins as the sixth join asks its worker for the participant: that join, and those
    // still waiting for their workers, are in flight; later ones come during the drain. Which joins
    // reached the room service is recorded: each of those must be answered.
    const reached = new Set<string>();
    const join = sfu.node.rooms.join.bind(sfu.node.rooms);
    sfu.node.rooms.join = (sink, request, requestId) => {
      reached.add(request.identity);
      return join(sink, request, requestId);
    };
    let created = 0;
    let stopped: Promise<void> | undefined;
    for (const worker of sfu.node.pool.workers) {
      const request = worker.request.bind(worker);
      worker.request = ((method, params) => {
        if (method === 'createParticipant' && ++created === 6) stopped = sfu.stop();
        return request(method, params);
      }) as typeof worker.request;
    }
    const clients = await Promise.all(Array.from({ length: 12 }, () => connect(sfu.url)));
    const closed = clients.map((c) => new Promise<void>((resolve) => c.onClose(() => resolve())));
    const replies: Array<ServerEvent | undefined> = clients.map(() => undefined);
    for (const [i, c] of clients.entries()) {
      void c.request({ join: { room: `drain-${i % 3}`, identity: `p${i}` } }, 20_000).then((r) => (replies[i] = r), () => undefined);
    }
    await Promise.all(closed);
    await stopped;
    assert.ok(reached.size >= 6, `${reached.size} joins reached the room service`);
    for (const [i, client] of clients.entries()) {
      const reply = replies[i];
      if (!reached.has(`p${i}`)) continue; // still unread on its socket when the drain closed it
      assert.ok(reply, `join ${i} got an answer before its socket closed`);
      if (reply.message === 'joined') {
        assert.ok(client.received.some((e) => errorCode(e) === 'SHUTTING_DOWN'), `joined client ${i} was told the node is shutting down`);
      } else {
        assert.equal(errorCode(reply), 'SHUTTING_DOWN', `join ${i}: ${JSON.stringify(reply)}`);
      }
    }
    assert.ok(
      replies.some((r, i) => reached.has(`p${i}`) && r !== undefined && errorCode(r) === 'SHUTTING_DOWN'),
      'a join that was being decided (the sixth at least) was answered SHUTTING_DOWN',
    );
  });
});
