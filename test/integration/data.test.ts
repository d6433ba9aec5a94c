import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import { shoal } from '../../proto/generated/shoal.js';
import { errorCode, sfuForThisFile, sleep, waitUntil } from '../support/peers.js';

const { DataMessage } = shoal.signaling.v1;

// Bursts below send hundreds of messages at once: the per-connection rate limit is not what they test.
const env = sfuForThisFile({ limits: { maxMessagesPerSecond: 100_000 } });
const sockets: SignalingClient[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

/** A client that joins over WebSocket and never answers the subscriber offer: no data channel. */
async function webSocketOnly(room: string, identity: string): Promise<SignalingClient> {
  const client = await SignalingClient.connect(env.sfu.url, 'json');
  sockets.push(client);
  const reply = await client.request({ join: { room, identity } });
  assert.equal(reply.message, 'joined');
  return client;
}

function decodeText(message: string | Buffer): { text?: string; fromIdentity?: string; binary?: string } {
  return typeof message === 'string' ? JSON.parse(message) : DataMessage.toObject(DataMessage.decode(message), { bytes: String });
}

describe('data', { timeout: 60_000 }, () => {
  test('reliable data channel messages reach the rest of the room only', async () => {
    const [alice, bob, carol] = await Promise.all([env.peers.join('data-1', 'alice'), env.peers.join('data-1', 'bob'), env.peers.join('data-1', 'carol')]);
    const outsider = await env.peers.join('data-1x', 'dave');
    await Promise.all([alice, bob, carol, outsider].map((p) => p.waitForChannels()));
    for (let i = 0; i < 20; i++) assert.ok(alice.sendOnChannel('reliable', JSON.stringify({ text: `hello ${i}` })));
    for (const peer of [bob, carol]) {
      await waitUntil(() => peer.dataReceived.length === 20, 5000, `20 messages at ${peer.options.identity}`);
      const got = peer.dataReceived.map((d) => ({ channel: d.channel, ...decodeText(d.message) }));
      assert.deepEqual(got.map((m) => m.text), Array.from({ length: 20 }, (_, i) => `hello ${i}`), 'in order');
      assert.ok(got.every((m) => m.channel === 'reliable' && m.fromIdentity === 'alice'));
    }
    await sleep(200);
    assert.equal(alice.dataReceived.length, 0, 'not echoed to the sender');
    assert.equal(outsider.dataReceived.length, 0, 'not seen in another room');
  });

  test('unreliable messages (protobuf) travel on the unreliable channel', async () => {
    const [alice, bob] = await Promise.all([env.peers.join('data-2', 'alice'), env.peers.join('data-2', 'bob')]);
    await Promise.all([alice, bob].map((p) => p.waitForChannels()));
    const payload = Buffer.from([0, 1, 2, 250, 255]);
    const encoded = Buffer.from(DataMessage.encode({ binary: payload, unreliable: true }).finish());
    assert.ok(alice.sendOnChannel('unreliable', encoded));
    await waitUntil(() => bob.dataReceived.length === 1, 5000, 'the message');
    const [{ channel, message }] = bob.dataReceived as [{ channel: string; message: Buffer }];
    assert.equal(channel, 'unreliable');
    assert.ok(Buffer.isBuffer(message), 'binary in, binary out (bob speaks protobuf)');
    const decoded = DataMessage.decode(message);
    assert.deepEqual(Buffer.from(decoded.binary ?? []), payload);
    assert.equal(decoded.fromIdentity, 'alice');
    assert.equal(decoded.fromParticipantId, alice.participantId);
  });

  test('messages addressed to identities reach only those; an unknown identity is an error', async () => {
    const [alice, bob, carol] = await Promise.all([env.peers.join('data-3', 'alice'), env.peers.join('data-3', 'bob'), env.peers.join('data-3', 'carol')]);
    await Promise.all([alice, bob, carol].map((p) => p.waitForChannels()));
    alice.signaling.send({ data: { text: 'for carol', toIdentities: ['carol'] } });
    await waitUntil(() => carol.dataReceived.length === 1, 5000, 'carol\'s message');
    await sleep(200);
    assert.equal(bob.dataReceived.length, 0);
    const reply = await alice.signaling.request({ data: { text: 'x', toIdentities: ['nobody'] } });
    assert.equal(errorCode(reply), 'UNKNOWN_PARTICIPANT');
  });

  test('the WebSocket data message is the fallback for clients without a data channel', async () => {
    const bob = await env.peers.join('data-4', 'bob');
    await bob.waitForChannels();
    const legacy = await webSocketOnly('data-4', 'legacy');
    legacy.send({ data: { text: 'over the socket' } });
    await waitUntil(() => bob.dataReceived.length === 1, 5000, 'bob gets it on his channel');
    assert.equal(decodeText(bob.dataReceived[0]!.message).text, 'over the socket');
    assert.ok(bob.sendOnChannel('reliable', JSON.stringify({ text: 'back to you' })));
    const got = await legacy.waitFor((e) => e.message === 'data');
    const data = got.data as { text: string; fromIdentity: string };
    assert.equal(data.text, 'back to you');
    assert.equal(data.fromIdentity, 'bob');
  });

  test('a malformed data channel message gets an error and changes nothing else', async () => {
    const [alice, bob] = await Promise.all([env.peers.join('data-5', 'alice'), env.peers.join('data-5', 'bob')]);
    await Promise.all([alice, bob].map((p) => p.waitForChannels()));
    alice.sendOnChannel('reliable', '{not json');
    const error = await alice.signaling.waitFor((e) => e.message === 'error');
    assert.equal(errorCode(error), 'MALFORMED_MESSAGE');
    assert.ok(alice.sendOnChannel('reliable', JSON.stringify({ text: 'still fine' })));
    await waitUntil(() => bob.dataReceived.length === 1, 5000, 'the next message');
  });

  test('a burst of 40 messages of 60 KB reaches each recipient exactly once', async () => {
    const bob = await env.peers.join('data-6', 'bob');
    await bob.waitForChannels();
    const alice = await webSocketOnly('data-6', 'alice');
    const body = 'x'.repeat(60_000);
    for (let i = 0; i < 40; i++) alice.send({ data: { text: `${i}:${body}` } });
    const overSocket = () => bob.signaling.received.filter((e) => e.message === 'data').length;
    await waitUntil(() => bob.dataReceived.length + overSocket() >= 40, 15_000, '40 messages at bob');
    // Anything delivered twice would arrive right behind: give it the time to.
    await sleep(500);
    const indexes = bob.dataReceived.map((d) => Number(decodeText(d.message).text!.split(':')[0]));
    assert.equal(overSocket(), 0, 'nothing over the WebSocket while the channel is open');
    assert.deepEqual(indexes, Array.from({ length: 40 }, (_, i) => i), 'each message once, in order');
    assert.equal(alice.received.filter((e) => e.message === 'error').length, 0, 'no error for the sender');
  });

  test('a recipient that does not read misses messages but stays in the room; the sender is told', async () => {
    const reader = await webSocketOnly('data-7', 'reader');
    const writer = await webSocketOnly('data-7', 'writer');
    let closedWith: number | undefined;
    reader.onClose((code) => (closedWith = code));
    reader.pauseReading();
    const body = 'y'.repeat(60_000);
    const burst = 300;
    for (let i = 0; i < burst; i++) writer.send({ requestId: 1000 + i, data: { text: `${i}:${body}`, toIdentities: ['reader'] } });
    const undelivered = () => writer.received.filter((e) => errorCode(e) === 'DATA_NOT_DELIVERED');
    await waitUntil(() => undelivered().length > 0, 15_000, 'the writer to learn of undelivered messages');
    const first = undelivered()[0]!;
    assert.match((first.error as { message: string }).message, /reader \(not reading\)/);
    assert.ok(first.requestId >= 1000, 'the error names the message it is about');
    assert.equal((await writer.request({ ping: { nonce: 1 } })).message, 'pong', 'the writer carries on');
    reader.resumeReading();
    // Everything the writer was not told about arrives, once.
    await waitUntil(() => reader.received.filter((e) => e.message === 'data').length + undelivered().length >= burst, 30_000, 'every message delivered or reported');
    await sleep(300);
    const delivered = reader.received.filter((e) => e.message === 'data').map((e) => Number((e.data as { text: string }).text.split(':')[0]));
    assert.equal(delivered.length + undelivered().length, burst, `${delivered.length} delivered + ${undelivered().length} reported`);
    assert.equal(new Set(delivered).size, delivered.length, 'no duplicates');
    assert.equal(closedWith, undefined, 'the reader was not disconnected');
    assert.ok(env.sfu.node.rooms.dump().find((r) => r.name === 'data-7')?.participants.some((p) => p.identity === 'reader'), 'and is still in the room');
    writer.send({ data: { text: 'after the storm', toIdentities: ['reader'] } });
    await reader.waitFor((e) => e.message === 'data' && (e.data as { text: string }).text === 'after the storm');
  });
});
