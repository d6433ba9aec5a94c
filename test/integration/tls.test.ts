import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { callbackErrors } from '../../bench/client/media-peer.js';
import type { WsEngine } from '../../control/http/listener.js';
import type { TlsFiles } from '../../control/http/tls.js';
import { CLI, loopbackEnv, serve, stopServed } from '../support/cli.js';
import { startSfu, wsEngines, type TestSfu } from '../support/sfu.js';
import { fetchTrusting, JsonSocket, roomOverTls, selfSignedCertificate } from '../support/tls.js';

const certificate: TlsFiles = selfSignedCertificate();
const trusted = fetchTrusting(certificate.cert);

after(() => {
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no test client callback threw');
});

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

    test('wss signaling and https WHIP/WHEP in one room: the WebSocket participant sees the WHIP publisher, a WHEP viewer receives its media', () =>
      roomOverTls(sfu.httpUrl, sfu.url, 'tls', certificate.cert));
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
      const socket = await JsonSocket.open(`wss://127.0.0.1:${served.port}/ws`, certificate.cert);
      socket.send({ requestId: 1, join: { room: 'cli-tls', identity: 'alice' } });
      await socket.next('joined');
      socket.close();
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
