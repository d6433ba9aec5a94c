import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { callbackErrors, type MediaPeer } from '../../bench/client/media-peer.js';
import { SignalingClient, type ServerEvent } from '../../bench/client/signaling-client.js';
import type { WsEngine } from '../../control/http/listener.js';
import type { MediaWorkerHandle } from '../../control/workers/media-worker-handle.js';
import { errorCode, packetsDuring, Peers } from '../support/peers.js';
import { startSfu, wsEngines, type TestSfu } from '../support/sfu.js';

const MAX_MESSAGE_BYTES = 4096;

after(() => {
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no test client callback threw');
});

// The same bad input against each WebSocket engine that works here.
for (const engine of wsEngines()) badInput(engine);

function badInput(engine: WsEngine): void {
  let sfu: TestSfu;
  let peers: Peers;
  let workersAtStart: readonly MediaWorkerHandle[];
  /** A publisher and a subscriber in their own room: they must never notice anything below. */
  let bystander: MediaPeer;
  let bystanderTracks: string[];
  const sockets: SignalingClient[] = [];

  async function client(encoding: 'json' | 'binary' = 'json'): Promise<SignalingClient> {
    const c = await SignalingClient.connect(sfu.url, encoding);
    sockets.push(c);
    return c;
  }

  async function joinedClient(room: string, identity: string): Promise<SignalingClient> {
    const c = await client();
    assert.equal((await c.request({ join: { room, identity } })).message, 'joined');
    return c;
  }

  /** Waits for the next error on `c` and checks its code; then checks the socket still works. */
  async function expectError(c: SignalingClient, code: string, trigger: () => void): Promise<ServerEvent> {
    const next = c.next('error');
    trigger();
    const error = await next;
    assert.equal(errorCode(error), code, JSON.stringify(error.error));
    assert.ok(((error.error as { message: string }).message ?? '').length > 0, 'the error says what went wrong');
    assert.equal((await c.request({ ping: { nonce: 7 } })).message, 'pong', 'the socket keeps working');
    return error;
  }

  describe(`bad input gets an error and harms nothing (${engine})`, { timeout: 60_000 }, () => {
    before(async () => {
      sfu = await startSfu({ workers: 2, maxMessageBytes: MAX_MESSAGE_BYTES, wsEngine: engine });
      workersAtStart = [...sfu.node.pool.workers];
      peers = new Peers(sfu.url);
      const publisher = await peers.publisher('bystanders', 'pub');
      bystander = await peers.join('bystanders', 'sub');
      bystanderTracks = publisher.trackIds;
      for (const id of bystanderTracks) await bystander.waitForPackets(id, 10);
    });
    afterEach(async () => {
      // The node, every worker and the other participants carry on.
      assert.deepEqual(sfu.node.pool.workers, workersAtStart, 'no worker was replaced');
      assert.ok(sfu.node.pool.workers.every((w) => w.alive));
      assert.ok((await packetsDuring(bystander, bystanderTracks, 300)) > 0, 'the bystanders still receive media');
      for (const socket of sockets.splice(0)) socket.close();
    });
    after(async () => {
      peers.closeAll();
      await sfu.stop();
    });

    test('malformed JSON', async () => {
      const c = await client();
      await expectError(c, 'MALFORMED_MESSAGE', () => c.sendRaw('{"join": {"room": "r",'));
    });

    test('a JSON field of the wrong type', async () => {
      const c = await client();
      await expectError(c, 'MALFORMED_MESSAGE', () => c.sendRaw('{"join":{"room":123,"identity":"x"}}'));
    });

    test('malformed protobuf', async () => {
      const c = await client('binary');
      await expectError(c, 'MALFORMED_MESSAGE', () => c.sendRaw(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    });

    test('an unknown message type in JSON', async () => {
      const c = await client();
      await expectError(c, 'UNKNOWN_MESSAGE', () => c.sendRaw('{"frobnicate":{}}'));
    });

    test('an unknown message type in protobuf', async () => {
      const c = await client('binary');
      // Field 99, varint 1: valid protobuf, no known message in it.
      await expectError(c, 'UNKNOWN_MESSAGE', () => c.sendRaw(Buffer.from([0x98, 0x06, 0x01])));
    });

    test('a frame over the size limit', async () => {
      const c = await joinedClient('big', 'alice');
      await expectError(c, 'MESSAGE_TOO_LARGE', () => c.sendRaw(JSON.stringify({ data: { text: 'x'.repeat(MAX_MESSAGE_BYTES) } })));
    });

    test('invalid SDP in a publisher offer', async () => {
      const c = await joinedClient('sdp-1', 'alice');
      const reply = await c.request({ publishOffer: { sdp: 'v=0\r\nthis is not sdp\r\n' } });
      assert.equal(errorCode(reply), 'INVALID_SDP');
      const noMedia = await c.request({ publishOffer: { sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n' } });
      assert.equal(errorCode(noMedia), 'INVALID_SDP');
    });

    test('invalid SDP in a subscriber answer', async () => {
      const c = await joinedClient('sdp-2', 'alice');
      const offer = (await c.waitFor((e) => e.message === 'subscriberOffer')).subscriberOffer as { offerId: number };
      await expectError(c, 'INVALID_SDP', () => c.send({ subscriberAnswer: { sdp: 'garbage', offerId: offer.offerId } }));
    });

    test('a malformed ICE candidate', async () => {
      const c = await joinedClient('ice', 'alice');
      await expectError(c, 'INVALID_SDP', () => c.send({ trickle: { target: 2, candidate: 'candidate:nonsense', sdpMid: '0' } }));
    });

    test('an unknown room', async () => {
      const c = await client();
      const reply = await c.request({ join: { room: 'nowhere', identity: 'alice', mustExist: true } });
      assert.equal(errorCode(reply), 'UNKNOWN_ROOM');
    });

    test('an unknown participant', async () => {
      const c = await joinedClient('lonely', 'alice');
      const reply = await c.request({ data: { text: 'hi', toIdentities: ['ghost'] } });
      assert.equal(errorCode(reply), 'UNKNOWN_PARTICIPANT');
    });

    test('messages before joining, and a second join', async () => {
      const c = await client();
      assert.equal(errorCode(await c.request({ publishOffer: { sdp: 'v=0' } })), 'NOT_JOINED');
      assert.equal(errorCode(await c.request({ leave: {} })), 'NOT_JOINED');
      assert.equal((await c.request({ join: { room: 'twice', identity: 'alice' } })).message, 'joined');
      assert.equal(errorCode(await c.request({ join: { room: 'twice', identity: 'alice' } })), 'ALREADY_JOINED');
    });

    test('a subscriber answer naming another offer', async () => {
      const c = await joinedClient('stale', 'alice');
      const offer = (await c.waitFor((e) => e.message === 'subscriberOffer')).subscriberOffer as { sdp: string; offerId: number };
      const reply = await c.request({ subscriberAnswer: { sdp: offer.sdp, offerId: offer.offerId + 1000 } });
      assert.equal(errorCode(reply), 'INVALID_STATE');
      assert.match((reply.error as { message: string }).message, /offer/);
    });

    test('a subscriber answer with no offer pending', async () => {
      const alice = await peers.join('no-offer', 'alice');
      await alice.waitForChannels();
      const sdp = alice.subscriber!.localDescription()!.sdp;
      const reply = await alice.signaling.request({ subscriberAnswer: { sdp } });
      assert.equal(errorCode(reply), 'INVALID_STATE');
    });

    const unsafeNames: Array<[string, string]> = [
      ['a dot', 'room.one'],
      ['a star', 'room*'],
      ['a greater-than sign', 'room>'],
      ['whitespace', 'room one'],
      ['nothing', ''],
      ['65 characters', 'r'.repeat(65)],
    ];
    for (const [what, name] of unsafeNames) {
      test(`a room name with ${what}`, async () => {
        const c = await client();
        const reply = await c.request({ join: { room: name, identity: 'alice' } });
        assert.equal(errorCode(reply), 'INVALID_NAME');
      });
      test(`an identity with ${what}`, async () => {
        const c = await client('binary');
        const reply = await c.request({ join: { room: 'names', identity: name } });
        assert.equal(errorCode(reply), 'INVALID_NAME');
      });
    }
  });
}
