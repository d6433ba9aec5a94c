import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { freeTcpPort } from '../../bench/harness/ports.js';
import { callbackErrors } from '../../bench/client/media-peer.js';
import { sleep } from '../support/peers.js';
import { startSfu } from '../support/sfu.js';
import { fetchTrusting, JsonSocket, roomOverTls, selfSignedCertificate } from '../support/tls.js';

/**
 * The reverse-proxy examples of docs/deploy.md, as written there: each code
 * block is read from the document, only its names and ports replaced by the
 * test's (a failing replacement fails the test, so the document and the test
 * cannot drift apart), and run with Debian's nginx and caddy in front of a
 * plain-HTTP node: the demo page, a wss join, WHIP and WHEP through the
 * proxy, and the Origin header reaching the node.
 */
const certificate = selfSignedCertificate();
const trusted = fetchTrusting(certificate.cert);
const PUBLIC_ORIGIN = 'https://meet.example.com';
const running: ChildProcess[] = [];

after(() => {
  for (const child of running) child.kill('SIGKILL');
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no test client callback threw');
});

/** The code block of `language` in docs/deploy.md. */
function documented(language: string): string {
  const doc = readFileSync('docs/deploy.md', 'utf8');
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(doc);
  assert.ok(match, `docs/deploy.md has a ${language} block`);
  return match[1]!;
}

/** `text` with `from` replaced by `to`; `from` must be there. */
function replaced(text: string, from: string | RegExp, to: string): string {
  const result = text.replace(from, to);
  assert.notEqual(result, text, `the documented configuration has ${from}`);
  return result;
}

/** Starts `command`; fails with the apt package to install when it is missing (these tests are never skipped). */
function run(command: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  assert.ok(existsSync(command), `no ${command}: apt-get install -y nginx caddy`);
  const child = spawn(command, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Waits until https://127.0.0.1:PORT/healthz answers ok through the proxy. */
async function proxyReady(port: number, proxy: { child: ChildProcess; output: () => string }): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proxy.child.exitCode !== null) throw new Error(`the proxy exited (${proxy.child.exitCode}): ${proxy.output()}`);
    const answer = await trusted(`https://127.0.0.1:${port}/healthz`).then((response) => response.text(), () => '');
    if (answer === 'ok') return;
    if (Date.now() > deadline) throw new Error(`the proxy on ${port} did not answer within 15 s: ${proxy.output()}`);
    await sleep(100);
  }
}

/** What a deployment behind the proxy is used for, through https://127.0.0.1:PORT. */
async function throughProxy(port: number, room: string): Promise<void> {
  const base = `https://127.0.0.1:${port}`;
  const page = await trusted(`${base}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Shoal<\/title>/);
  await roomOverTls(base, `wss://127.0.0.1:${port}/ws`, room, certificate.cert);
  // The proxy keeps the browser's Origin: the node's --allowed-origins decides.
  const allowed = await JsonSocket.open(`wss://127.0.0.1:${port}/ws`, certificate.cert, PUBLIC_ORIGIN);
  allowed.close();
  await assert.rejects(JsonSocket.open(`wss://127.0.0.1:${port}/ws`, certificate.cert, 'https://elsewhere.example'), /403/);
}

/**
 * A plain-HTTP node behind the proxy that `start` runs (given the node's port, the proxy's port and a
 * fresh folder), used through the proxy, then both stopped.
 */
async function behindProxy(name: string, start: (nodePort: number, port: number, dir: string) => ReturnType<typeof run>): Promise<void> {
  const sfu = await startSfu({ allowedOrigins: [PUBLIC_ORIGIN] });
  const port = await freeTcpPort();
  const proxy = start(sfu.node.port, port, mkdtempSync(join(tmpdir(), `shoal-${name}-`)));
  try {
    await proxyReady(port, proxy);
    await throughProxy(port, `via-${name}`);
  } finally {
    await stop(proxy.child);
    await sfu.stop();
  }
}

describe('the reverse proxies of docs/deploy.md in front of a plain-HTTP node', { timeout: 90_000 }, () => {
  test('nginx: demo page, wss join, WHIP and WHEP, Origin passed on', () =>
    behindProxy('nginx', (nodePort, port, dir) => {
      let site = documented('nginx');
      site = replaced(site, /listen 443 ssl;/, `listen 127.0.0.1:${port} ssl;`);
      site = replaced(site, /ssl_certificate\s+\S+;/, `ssl_certificate ${certificate.certFile};`);
      site = replaced(site, /ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${certificate.keyFile};`);
      site = replaced(site, /127\.0\.0\.1:8080/g, `127.0.0.1:${nodePort}`);
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `${name}_temp_path ${join(dir, name)};`).join('\n');
      writeFileSync(
        join(dir, 'nginx.conf'),
        `daemon off;\nworker_processes 1;\npid ${join(dir, 'nginx.pid')};\nerror_log stderr;\nevents {}\nhttp {\naccess_log off;\n${temp}\n${site}\n}\n`,
      );
      return run('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
    }));

  test('Caddy: demo page, wss join, WHIP and WHEP, Origin passed on', () =>
    behindProxy('caddy', (nodePort, port, dir) => {
      let site = documented('caddy');
      // An address and certificate of the test's instead of the name (Caddy would fetch a certificate for it).
      site = replaced(site, /^meet\.example\.com \{/m, `https://127.0.0.1:${port} {\n\ttls ${certificate.certFile} ${certificate.keyFile}`);
      site = replaced(site, /127\.0\.0\.1:8080/g, `127.0.0.1:${nodePort}`);
      // No admin endpoint (a fixed port), no HTTP redirect listener (port 80), state in the test's folder.
      const global = `{\n\tadmin off\n\tauto_https disable_redirects\n\tstorage file_system ${join(dir, 'data')}\n}\n`;
      writeFileSync(join(dir, 'Caddyfile'), global + site);
      const home = join(dir, 'home');
      mkdirSync(home);
      return run('/usr/bin/caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home });
    }));
});
