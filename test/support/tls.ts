import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadTlsFiles, type TlsFiles } from '../../control/http/tls.js';
import { waitUntil } from './peers.js';
import { WhepViewer, WhipPublisher } from './whip-clients.js';

/**
 * A self-signed certificate for localhost and 127.0.0.1 (P-256), made with
 * Debian's `openssl` in a fresh temporary folder: the node's --tls-cert and
 * --tls-key, and the one CA a test client trusts.
 */
export function selfSignedCertificate(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', keyFile, '-out', certFile,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(`openssl could not make a test certificate (apt-get install -y openssl): ${(error as Error).message}`);
  }
  return loadTlsFiles(certFile, keyFile)!;
}

/**
 * A `fetch` over node:https that trusts `ca` (the global fetch trusts only
 * the system's CAs and cannot be told otherwise on Node 20). Enough of fetch
 * for the WHIP/WHEP test clients: method, headers, a string body.
 */
export function fetchTrusting(ca: Buffer | string): typeof fetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(url, { method: init.method ?? 'GET', headers, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          const body = [204, 304].includes(res.statusCode!) ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status: res.statusCode!, headers: responseHeaders }));
        });
      });
      req.on('error', reject);
      req.end(init.body === undefined || init.body === null ? undefined : String(init.body));
    });
}

/** A signaling client speaking the browser's JSON over wss://, trusting `ca` only. */
export class JsonSocket {
  readonly messages: Array<Record<string, unknown>> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  }

  static open(url: string, ca: Buffer, origin?: string): Promise<JsonSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ca, ...(origin ? { origin } : {}) });
      ws.once('open', () => resolve(new JsonSocket(ws)));
      ws.once('error', reject);
    });
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The first message so far that has `key` (joined, participantJoined, ...), waiting for one. */
  async next(key: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    await waitUntil(() => this.messages.some((m) => key in m), timeoutMs, () => `a "${key}" message on wss (got ${this.messages.map((m) => Object.keys(m).join()).join(' ')})`);
    return this.messages.find((m) => key in m)!;
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * One room over TLS, as a deployment is used: a WebSocket participant joins
 * over `wssUrl`, a WHIP publisher POSTs to `httpsBase`/whip/ROOM, a WHEP
 * viewer to `httpsBase`/whep/ROOM; the participant sees the publisher join
 * and publish, the viewer receives its audio and video, DELETE ends both
 * sessions. Every request trusts `ca` only.
 */
export async function roomOverTls(httpsBase: string, wssUrl: string, room: string, ca: Buffer): Promise<void> {
  const trusted = fetchTrusting(ca);
  const socket = await JsonSocket.open(wssUrl, ca);
  const clients: Array<WhipPublisher | WhepViewer> = [];
  try {
    socket.send({ requestId: 1, join: { room, identity: 'watcher' } });
    const joined = (await socket.next('joined')).joined as { room: string; identity: string };
    assert.deepEqual([joined.room, joined.identity], [room, 'watcher']);

    const whip = await WhipPublisher.publish(`${httpsBase}/whip/${room}?identity=encoder`, { fetch: trusted });
    clients.push(whip);
    assert.equal(whip.response?.status, 201, whip.response?.body);
    assert.ok(whip.location.startsWith(`${httpsBase}/whip/${room}/`), `the session resource is on the https origin: ${whip.location}`);
    await whip.startMedia();
    const seen = (await socket.next('participantJoined')).participantJoined as { participant: { identity: string } };
    assert.equal(seen.participant.identity, 'encoder');
    await socket.next('trackPublished');

    const viewer = await WhepViewer.view(`${httpsBase}/whep/${room}`, { fetch: trusted });
    clients.push(viewer);
    assert.equal(viewer.response?.status, 201, viewer.response?.body);
    await viewer.waitForPackets('video', 30);
    await viewer.waitForPackets('audio', 30);
    assert.equal(await whip.delete(), 200, 'DELETE over https ends the WHIP session');
    assert.equal(await viewer.delete(), 200);
  } finally {
    for (const client of clients) client.close();
    socket.close();
  }
}
