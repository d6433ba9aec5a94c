import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import WebSocket from 'ws';
import { callbackErrors } from '../../bench/client/media-peer.js';
import type { WsEngine } from '../../control/http/listener.js';
import type { TlsFiles } from '../../control/http/tls.js';
import { CLI, loopbackEnv, serve, stopServed } from '../support/cli.js';
import { waitUntil } from '../support/peers.js';
import { startSfu, wsEngines, type TestSfu } from '../support/sfu.js';
import { fetchTrusting, selfSignedCertificate } from '../support/tls.js';
import { WhepViewer, WhipPublisher } from '../support/whip-clients.js';

const certificate: TlsFiles = selfSignedCertificate();
const trusted = fetchTrusting(certificate.cert);

after(() => {
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no test client callback threw');
});

/** A signaling client in the browser's JSON over wss://, trusting the test certificate only. */
class JsonSocket {
  readonly messages: Array<Record<string, unknown>> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  }

  static open(url: string): Promise<JsonSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ca: certificate.cert });
      ws.once('open', () => resolve(new JsonSocket(ws)));
      ws.once('error', reject);
    });
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  async next(key: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    await waitUntil(() => this.messages.some((m) => key in m), timeoutMs, () => `a "${key}" message on wss (got ${this.messages.map((m) => Object.keys(m).join()).join(' ')})`);
    return this.messages.find((m) => key in m)!;
  }
}

/** The status of a plain-HTTP request to `port`, or the error that ended it. */
function plainHttpStatus(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz', timeout: 1500 }, (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

for (const engine of wsEngines()) tlsOn(engine);

function tlsOn(engine: WsEngine): void {
  describe(`the node terminating TLS itself, on ${engine}`, { timeout: 60_000 }, () => {
    let sfu: TestSfu;
    before(async () => {
      sfu = await startSfu({ wsEngine: engine, tls: certificate });
    });
    after(() => sfu.stop());

    test('https: the demo page and /healthz with the certificate trusted; plain HTTP on the port gets no reply', async () => {
      assert.match(sfu.httpUrl, /^https:/);
      const page = await trusted(`${sfu.httpUrl}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await page.text(), /<title>Shoal<\/title>/);
      const client = await trusted(`${sfu.httpUrl}/shoal-client.js`);
      assert.equal(client.status, 200, 'the browser client is served over https too');
      assert.equal(await (await trusted(`${sfu.httpUrl}/healthz`)).text(), 'ok');
      const plain = await plainHttpStatus(sfu.node.port);
      assert.ok(!/^\d+$/.test(plain), `no HTTP answer in clear text (got ${plain})`);
      await assert.rejects(fetch(`${sfu.httpUrl}/healthz`), 'the global fetch, which does not trust the self-signed certificate, fails the handshake');
    });

    test('wss signaling and https WHIP/WHEP in one room: the WebSocket participant sees the WHIP publisher, a WHEP viewer receives its media', async () => {
      const socket = await JsonSocket.open(sfu.url);
      socket.send({ requestId: 1, join: { room: 'tls', identity: 'watcher' } });
      const joined = (await socket.next('joined')).joined as { room: string; identity: string };
      assert.deepEqual([joined.room, joined.identity], ['tls', 'watcher']);

      const whip = await WhipPublisher.publish(`${sfu.httpUrl}/whip/tls?identity=encoder`, { fetch: trusted });
      const viewer = await WhepViewer.view(`${sfu.httpUrl}/whep/tls`, { fetch: trusted }).catch(async (error: unknown) => {
        whip.close();
        throw error;
      });
      try {
        assert.equal(whip.response?.status, 201, whip.response?.body);
        assert.match(whip.location, /^https:\/\/127\.0\.0\.1:\d+\/whip\/tls\//, 'the session resource is on the https origin');
        await whip.startMedia();
        const seen = (await socket.next('participantJoined')).participantJoined as { participant: { identity: string } };
        assert.equal(seen.participant.identity, 'encoder');
        await socket.next('trackPublished');
        assert.equal(viewer.response?.status, 201, viewer.response?.body);
        await viewer.waitForPackets('video', 30);
        await viewer.waitForPackets('audio', 30);
        assert.equal(await whip.delete(), 200, 'DELETE over https ends the session');
        assert.equal(await viewer.delete(), 200);
      } finally {
        whip.close();
        viewer.close();
        socket.ws.close();
      }
    });
  });
}

describe('shoal serve --tls-cert --tls-key', { timeout: 60_000 }, () => {
  /** Runs `shoal serve` to its exit with `args`; its exit code and stderr. */
  function serveFails(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }

  test('from the environment (SHOAL_TLS_CERT, SHOAL_TLS_KEY): serves https, and says so in its listening line', async () => {
    const served = await serve({ ...(await loopbackEnv()), SHOAL_TLS_CERT: certificate.certFile, SHOAL_TLS_KEY: certificate.keyFile });
    try {
      const listening = served.logs.find((l) => l.msg === 'shoal node listening')!;
      assert.equal(listening.tls, true);
      assert.equal(await (await trusted(`https://127.0.0.1:${served.port}/healthz`)).text(), 'ok');
      const socket = await JsonSocket.open(`wss://127.0.0.1:${served.port}/ws`);
      socket.send({ requestId: 1, join: { room: 'cli-tls', identity: 'alice' } });
      await socket.next('joined');
      socket.ws.close();
    } finally {
      assert.equal(await stopServed(served), 0);
    }
  });

  test('a bad certificate path, a lone option, a key that is not the certificate\'s: exit 2 before starting, naming the problem', async () => {
    const missing = await serveFails(['--tls-cert', '/nonexistent/cert.pem', '--tls-key', certificate.keyFile]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--tls-cert: cannot read \/nonexistent\/cert\.pem: ENOENT/);

    const lone = await serveFails([], { SHOAL_TLS_KEY: certificate.keyFile });
    assert.equal(lone.code, 2);
    assert.match(lone.stderr, /--tls-cert and --tls-key go together/);

    const notPem = await serveFails(['--tls-cert', certificate.certFile, '--tls-key', CLI]);
    assert.equal(notPem.code, 2);
    assert.match(notPem.stderr, /--tls-key: .* is not a PEM file/);

    const other = selfSignedCertificate();
    const mismatch = await serveFails(['--tls-cert', certificate.certFile, '--tls-key', other.keyFile]);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /not a usable certificate and key: .*key values mismatch/);
  });
});
