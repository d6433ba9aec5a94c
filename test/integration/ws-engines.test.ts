import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import pino from 'pino';
import { callbackErrors } from '../../bench/client/media-peer.js';
import { loadNativeUws, selectEngine } from '../../control/http/engine.js';
import { jsonReply, startHttpServer } from '../../control/http/http-server.js';
import type { WsEngine } from '../../control/http/listener.js';
import { Peers } from '../support/peers.js';
import { RawWebSocket } from '../support/raw-ws.js';
import { startSfu, wsEngines, type TestSfu } from '../support/sfu.js';

after(() => {
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no test client callback threw');
});

test('auto takes native uWebSockets.js where it loads and ws elsewhere; ws is always there', () => {
  const native = loadNativeUws();
  assert.equal(selectEngine('auto').engine, 'uws' in native ? 'uws' : 'ws');
  assert.equal(selectEngine('ws').engine, 'ws');
  if ('uws' in native) assert.equal(selectEngine('uws').engine, 'uws');
  else assert.throws(() => selectEngine('uws'), /no native uWebSockets.js build loads here/);
});

for (const engine of wsEngines()) sameBehaviour(engine);

function sameBehaviour(engine: WsEngine): void {
  describe(`the listener on ${engine}`, { timeout: 60_000 }, () => {
    let sfu: TestSfu;
    let peers: Peers;
    const sockets: RawWebSocket[] = [];

    before(async () => {
      sfu = await startSfu({ wsEngine: engine });
      peers = new Peers(sfu.url);
    });
    afterEach(() => {
      peers.closeAll();
      for (const socket of sockets.splice(0)) socket.close();
    });
    after(() => sfu.stop());

    async function upgrade(headers: Record<string, string>, path = '/ws', port = sfu.node.port): Promise<number> {
      const socket = await RawWebSocket.open(port, headers, path);
      sockets.push(socket);
      return socket.status;
    }

    test('join, publish, subscribe: media flows', async () => {
      const { trackIds } = await peers.publisher('engines', 'alice');
      const bob = await peers.join('engines', 'bob');
      for (const id of trackIds) await bob.waitForPackets(id, 20);
    });

    test('HTTP routes: /healthz, /stats, the demo page; 404 and 405 otherwise', async () => {
      const get = (path: string, init?: RequestInit) => fetch(`${sfu.httpUrl}${path}`, init);
      const health = await get('/healthz');
      assert.equal(health.status, 200);
      assert.equal(await health.text(), 'ok');
      const stats = await get('/stats');
      assert.match(stats.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(((await stats.json()) as { node: string }).node, sfu.node.config.nodeId);
      const page = await get('/');
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await page.text(), /<html/i);
      assert.equal((await get('/shoal-client.js')).status, 200);
      assert.equal((await get('/nothing-here')).status, 404);
      assert.equal((await get('/ws')).status, 404, 'GET /ws without an upgrade');
      assert.equal((await get('/healthz', { method: 'POST' })).status, 405);
      assert.equal(await upgrade({}, '/elsewhere'), 404, 'a WebSocket on another path');
    });

    test('the /stats route sees the Authorization header of the request', async () => {
      const server = await startHttpServer({
        host: '127.0.0.1',
        port: 0,
        engine: selectEngine(engine),
        limits: { maxMessageBytes: 65536, maxConnections: 10, maxMessagesPerSecond: 10 },
        allowedOrigins: [],
        iceServers: [],
        tokensRequired: false,
        maxCandidates: 64,
        idleTimeoutMs: 60_000,
        rooms: sfu.node.rooms,
        stats: (request) => jsonReply({ authorization: request.headers.authorization ?? null }),
        log: pino({ level: 'silent' }),
      });
      try {
        const seen = async (init?: RequestInit) => ((await (await fetch(`http://127.0.0.1:${server.port}/stats`, init)).json()) as { authorization: string | null }).authorization;
        assert.equal(await seen({ headers: { authorization: 'Bearer abc' } }), 'Bearer abc');
        assert.equal(await seen(), null);
      } finally {
        server.stopListening();
      }
    });

    test('--allowed-origins: other browser origins are refused with 403; listed ones and clients without Origin pass', async () => {
      assert.equal(await upgrade({ Origin: 'https://anywhere.example' }), 101, 'any origin by default');
      const strict = await startSfu({ wsEngine: engine, allowedOrigins: ['https://meet.example.com', 'http://localhost:8080'] });
      try {
        const port = strict.node.port;
        assert.equal(await upgrade({ Origin: 'https://evil.example' }, '/ws', port), 403);
        assert.equal(await upgrade({ Origin: 'null' }, '/ws', port), 403);
        assert.equal(await upgrade({ Origin: 'https://meet.example.com' }, '/ws', port), 101);
        assert.equal(await upgrade({ Origin: 'http://localhost:8080' }, '/ws', port), 101);
        assert.equal(await upgrade({}, '/ws', port), 101, 'no Origin: not a browser');
      } finally {
        await strict.stop();
      }
    });

    for (const second of wsEngines()) {
      test(`a second node on the same port (${second}) fails at once instead of sharing it`, async () => {
        await assert.rejects(startSfu({ wsEngine: second, port: sfu.node.port }), /cannot listen on 127\.0\.0\.1:\d+: .*in use/);
        assert.equal((await fetch(`${sfu.httpUrl}/healthz`)).status, 200, 'the first carries on');
      });
    }
  });
}
