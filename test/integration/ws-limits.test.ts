import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import WebSocket from 'ws';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import type { WsEngine } from '../../control/http/listener.js';
import { errorCode, sleep, waitUntil } from '../support/peers.js';
import { frame, frameHeader, OPCODE, RawWebSocket } from '../support/raw-ws.js';
import { startSfu, wsEngines, type TestSfu } from '../support/sfu.js';

const MAX_MESSAGE_BYTES = 4096;
/** Twice the message limit: frames up to this are read and refused, larger ones close the connection. */
const HARD_LIMIT = 2 * MAX_MESSAGE_BYTES;
const RATE = 20;
const IDLE_TIMEOUT_MS = 3000;

after(() => nodeDataChannel.cleanup());

for (const engine of wsEngines()) limitsAtTheSocket(engine);

/** A server message as sent, in JSON. */
type Raw = { requestId?: number; pong?: unknown; error?: { code: string } };

/** A `ws` client that records everything from the first frame on (JSON), and how it closed. */
class RecordingClient {
  readonly messages: Raw[] = [];
  readonly closed: Promise<number>;
  readonly opened: Promise<void>;
  readonly ws: WebSocket;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data) => this.messages.push(JSON.parse(String(data)) as Raw));
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', () => reject(new Error('upgrade refused')));
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }

  count(match: (e: Raw) => boolean): number {
    return this.messages.filter(match).length;
  }
}

const pong = (e: Raw) => e.pong !== undefined;
const rateLimited = (e: Raw) => e.error?.code === 'RATE_LIMITED';

/** Resolves with true if the socket closed within `ms`, false if it is still open. */
function closesWithin(raw: RawWebSocket, ms: number): Promise<boolean> {
  return Promise.race([raw.closing.then(() => true), sleep(ms).then(() => false)]);
}

function limitsAtTheSocket(engine: WsEngine): void {
  describe(`limits at the WebSocket (${engine})`, { timeout: 60_000 }, () => {
    let sfu: TestSfu;
    const open: Array<{ close(): void }> = [];
    const port = () => sfu.node.port;

    before(async () => {
      sfu = await startSfu({ wsEngine: engine, maxMessageBytes: MAX_MESSAGE_BYTES, idleTimeoutMs: IDLE_TIMEOUT_MS, limits: { maxMessagesPerSecond: RATE } });
    });
    afterEach(() => {
      for (const client of open.splice(0)) client.close();
    });
    after(() => sfu.stop());

    function recording(): RecordingClient {
      const client = new RecordingClient(sfu.url);
      open.push({ close: () => client.ws.terminate() });
      return client;
    }

    async function raw(headers: Record<string, string> = {}): Promise<RawWebSocket> {
      const socket = await RawWebSocket.open(port(), headers);
      open.push(socket);
      assert.equal(socket.status, 101);
      return socket;
    }

    test('connections over --max-connections are told TOO_MANY_CONNECTIONS and closed with 1013; a freed place is taken again', async () => {
      const small = await startSfu({ wsEngine: engine, limits: { maxConnections: 3 } });
      const clients: SignalingClient[] = [];
      try {
        for (let i = 0; i < 3; i++) clients.push(await SignalingClient.connect(small.url, 'json'));
        const refused = new RecordingClient(small.url);
        await refused.opened;
        assert.equal(await refused.closed, 1013);
        assert.deepEqual(refused.messages.map((e) => e.error?.code), ['TOO_MANY_CONNECTIONS']);
        for (const c of clients) assert.equal((await c.request({ ping: { nonce: 1 } })).message, 'pong', 'the open ones carry on');

        clients.pop()!.close();
        // The server sees the close a moment later: until then a newcomer is still refused.
        const deadline = Date.now() + 10_000;
        for (;;) {
          assert.ok(Date.now() < deadline, 'the freed place is taken within 10 s');
          const candidate = new RecordingClient(small.url);
          await candidate.opened;
          candidate.ws.send(JSON.stringify({ requestId: 1, ping: { nonce: 1 } }));
          const accepted = await Promise.race([candidate.closed.then(() => false), waitUntil(() => candidate.count(pong) > 0, 5000, 'pong').then(() => true)]);
          candidate.ws.terminate();
          if (accepted) break;
        }
      } finally {
        for (const c of clients) c.close();
        await small.stop();
      }
    });

    test('a burst over the message rate: the extra messages are dropped, the client is told once, the socket stays', async () => {
      const client = recording();
      await client.opened;
      for (let i = 0; i < 3 * RATE; i++) client.ws.send(JSON.stringify({ requestId: i + 1, ping: { nonce: i } }));
      await waitUntil(() => client.count(rateLimited) > 0 && client.count(pong) >= 2 * RATE, 10_000, 'the burst answered');
      await sleep(300);
      const pongs = client.count(pong);
      assert.ok(pongs >= 2 * RATE && pongs <= 2.5 * RATE, `${pongs} of ${3 * RATE} pings answered: the burst (${2 * RATE}) and what refilled meanwhile`);
      assert.ok(client.count(rateLimited) <= 2, 'one RATE_LIMITED per second at most, not one per dropped message');
      await sleep(1000);
      client.ws.send(JSON.stringify({ requestId: 9999, ping: { nonce: 1 } }));
      await waitUntil(() => client.messages.some((e) => e.requestId === 9999), 5000, 'a pong after the pause');
      assert.equal(client.ws.readyState, WebSocket.OPEN);
    });

    test('messages at a sustained rate under the limit are all handled', async () => {
      const client = await SignalingClient.connect(sfu.url, 'json');
      open.push(client);
      // 3 × 15 = 45 messages: more than the burst, at 15/s (under 20/s; a loaded machine only spreads them more).
      for (let round = 0; round < 3; round++) {
        const replies = await Promise.all(Array.from({ length: 15 }, (_, i) => client.request({ ping: { nonce: i } })));
        assert.ok(replies.every((r) => r.message === 'pong'));
        await sleep(1000);
      }
      assert.equal(client.received.filter((e) => e.message === 'error').length, 0);
    });

    test('a client that keeps flooding is disconnected (1008) after a bounded number of messages', async () => {
      const client = recording();
      await client.opened;
      for (let i = 0; i < 10_000; i++) client.ws.send(JSON.stringify({ requestId: i + 1, ping: { nonce: i } }));
      assert.equal(await client.closed, 1008);
      assert.ok(client.count(pong) <= 2.5 * RATE, `${client.count(pong)} pings answered before the disconnect`);
      assert.ok(client.count(rateLimited) <= 3, `${client.count(rateLimited)} RATE_LIMITED errors`);
    });

    test('WebSocket ping frames count too: a ping flood is disconnected', async () => {
      const client = recording();
      await client.opened;
      for (let i = 0; i < 2000; i++) client.ws.ping();
      assert.equal(await client.closed, 1008);
    });

    test('a frame up to twice the size limit gets MESSAGE_TOO_LARGE and the socket stays', async () => {
      const client = await SignalingClient.connect(sfu.url, 'binary');
      open.push(client);
      const error = client.next('error');
      client.sendRaw(Buffer.alloc(HARD_LIMIT, 0x20));
      assert.equal(errorCode(await error), 'MESSAGE_TOO_LARGE');
      assert.equal((await client.request({ ping: { nonce: 2 } })).message, 'pong');
    });

    test('a frame over twice the size limit closes the connection from its header, before any payload', async () => {
      for (const length of [HARD_LIMIT + 1, 15_000_000, 2 ** 40]) {
        const socket = await raw();
        socket.write(frameHeader(length));
        assert.ok(await closesWithin(socket, 5000), `a header announcing ${length} bytes closed the connection`);
      }
    });

    test('a half-sent frame is dropped after the idle timeout, however steadily bytes trickle in', async () => {
      const socket = await raw();
      const started = performance.now();
      socket.write(frameHeader(HARD_LIMIT - 100));
      socket.write(Buffer.alloc(HARD_LIMIT / 2));
      const trickle = setInterval(() => socket.write(Buffer.alloc(1)), 200);
      try {
        assert.ok(await closesWithin(socket, 5 * IDLE_TIMEOUT_MS), 'closed');
      } finally {
        clearInterval(trickle);
      }
      const tookMs = performance.now() - started;
      assert.ok(tookMs >= IDLE_TIMEOUT_MS - 500, `closed after ${Math.round(tookMs)} ms, not before the idle timeout`);
    });

    test('a silent client is pinged, and kept while it answers pings', async () => {
      const client = await SignalingClient.connect(sfu.url, 'json');
      open.push(client);
      await sleep(2.5 * IDLE_TIMEOUT_MS); // the ws library answers pings by itself
      assert.equal(client.closed, false);
      assert.equal((await client.request({ ping: { nonce: 3 } })).message, 'pong');

      const mute = await raw(); // answers nothing
      assert.ok(await closesWithin(mute, 5 * IDLE_TIMEOUT_MS), 'a client that answers no ping is dropped');
      assert.equal(mute.received[0]! & 0x0f, OPCODE.ping, 'after being pinged');
    });

    test('a text frame that is not UTF-8 fails the connection (RFC 6455 8.1); the node carries on', async () => {
      const socket = await raw();
      socket.write(frame(Buffer.from('{"ping":{"nonce":"\xff\xfe"}}', 'latin1'), OPCODE.text));
      assert.ok(await closesWithin(socket, 5000));
      assert.ok([undefined, 1007].includes(socket.closeCode()), `close code ${socket.closeCode()}: 1007, or none (uWS closes without a close frame)`);
      const other = await SignalingClient.connect(sfu.url, 'json');
      open.push(other);
      assert.equal((await other.request({ ping: { nonce: 4 } })).message, 'pong');
    });
  });
}
