import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, sleep } from '../support/chromium.js';
import { startSfu, type TestSfu } from '../support/sfu.js';

/**
 * Chromium as a WHIP publisher and a WHEP viewer, its pages served from an
 * origin other than the node's (so every request goes through CORS): once
 * with nothing but `fetch` and RTCPeerConnection, once with the WHIP/WHEP
 * client library `whip-whep` from the npm registry (Medooze's), which this
 * project did not write.
 */

/** The library's two modules, served next to the page. */
const LIBRARY_DIR = dirname(createRequire(import.meta.url).resolve('whip-whep/whip.js'));

let sfu: TestSfu;
let browser: Browser;
let pages: Server;
let pageOrigin: string;

before(async () => {
  sfu = await startSfu();
  browser = await launchChromium();
  pages = createServer((req, res) => {
    const file = req.url === '/whip.js' || req.url === '/whep.js' ? readFileSync(join(LIBRARY_DIR, req.url.slice(1))) : undefined;
    if (file) res.writeHead(200, { 'content-type': 'text/javascript' }).end(file);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body><video autoplay muted playsinline></video></body></html>');
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  const address = pages.address();
  // "localhost" is a secure context (getUserMedia) and another origin than the node's http://localhost:PORT.
  pageOrigin = `http://localhost:${typeof address === 'object' && address ? address.port : 0}`;
});
after(async () => {
  await browser?.close();
  pages?.close();
  await sfu?.stop();
});

async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${pageOrigin}/`);
  return { page, problems };
}

function nodeUrl(path: string): string {
  return `http://localhost:${new URL(sfu.httpUrl).port}${path}`;
}

/** Frames the page's connection (window.pc) has decoded, and the video element's width. */
function videoState(page: Page): Promise<{ frames: number; width: number }> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
    const stats = [...(await pc.getStats()).values()] as Array<Record<string, unknown>>;
    const inbound = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    return { frames: Number(inbound?.framesDecoded ?? 0), width: document.querySelector('video')?.videoWidth ?? 0 };
  });
}

async function waitForFrames(page: Page, frames: number, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let state = await videoState(page);
  while (state.frames < frames || state.width === 0) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${frames} decoded frames ${what} (${JSON.stringify(state)})`);
    await sleep(250);
    state = await videoState(page);
  }
}

test('Chromium publishes with plain fetch WHIP (trickling candidates in PATCHes) and another page watches with plain fetch WHEP, decoding frames', { timeout: 90_000 }, async () => {
  const publisher = await openPage();
  const result = await publisher.page.evaluate(async (url) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
    const candidates: RTCIceCandidate[] = [];
    // The session, once the POST is answered: candidates wait for its URL.
    const holder: { session?: { location: string; etag: string } } = {};
    const patches: number[] = [];
    const trickle = async () => {
      const session = holder.session;
      if (!session || candidates.length === 0) return;
      const sending = candidates.splice(0);
      const offer = pc.localDescription!.sdp;
      const ufrag = /a=ice-ufrag:(.*)\r\n/.exec(offer)![1];
      const pwd = /a=ice-pwd:(.*)\r\n/.exec(offer)![1];
      const fragment = [`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, 'm=audio 9 UDP/TLS/RTP/SAVPF 0', `a=mid:${sending[0]!.sdpMid}`, ...sending.map((c) => `a=${c.candidate}`)].join('\r\n') + '\r\n';
      const response = await fetch(session.location, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': session.etag }, body: fragment });
      patches.push(response.status);
    };
    pc.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate) candidates.push(event.candidate);
      void trickle();
    };
    await pc.setLocalDescription(await pc.createOffer());
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription!.sdp });
    if (response.status !== 201) return { status: response.status, body: await response.text() };
    const session = { location: new URL(response.headers.get('location')!, url).href, etag: response.headers.get('etag')! };
    holder.session = session;
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    await trickle();
    const started = Date.now();
    while (pc.connectionState !== 'connected' && Date.now() - started < 15_000) await new Promise((resolve) => setTimeout(resolve, 100));
    return { status: 201, location: session.location, state: pc.connectionState, patches };
  }, nodeUrl('/whip/browser-fetch'));
  assert.equal(result.status, 201, JSON.stringify(result));
  assert.equal(result.state, 'connected');
  assert.ok(result.patches!.length > 0 && result.patches!.every((status) => status === 204), `PATCHes answered ${result.patches}`);

  const viewer = await openPage();
  const viewed = await viewer.page.evaluate(async (url) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (event) => {
      stream.addTrack(event.track);
      document.querySelector('video')!.srcObject = stream;
    };
    // No trickle: the offer waits for every candidate (as OBS and GStreamer do), and no PATCH follows.
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    });
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription!.sdp });
    if (response.status !== 201) return { status: response.status, body: await response.text() };
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    return { status: 201, location: new URL(response.headers.get('location')!, url).href };
  }, nodeUrl('/whep/browser-fetch'));
  assert.equal(viewed.status, 201, JSON.stringify(viewed));
  await waitForFrames(viewer.page, 30, 'at the WHEP viewer');

  // DELETE from the page (a CORS request with a method that needs a preflight).
  const deleted = await publisher.page.evaluate(async (location) => (await fetch(location, { method: 'DELETE' })).status, result.location!);
  assert.equal(deleted, 200);
  const participants = sfu.node.rooms.dump().find((r) => r.name === 'browser-fetch')?.participants.map((p) => p.identity) ?? [];
  assert.ok(participants.every((identity) => identity.startsWith('whep-')), `the publisher left: ${participants}`);
  assert.deepEqual([...publisher.problems, ...viewer.problems], []);
});

test('the whip-whep library from the npm registry publishes and watches through Shoal in Chromium', { timeout: 90_000 }, async () => {
  const publisher = await openPage();
  await publisher.page.evaluate(async (url) => {
    const { WHIPClient } = (await import('/whip.js' as string)) as { WHIPClient: new () => { publish(pc: RTCPeerConnection, url: string): Promise<void>; stop(): Promise<void> } };
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
    const client = new WHIPClient();
    (window as unknown as { client: unknown }).client = client;
    await client.publish(pc, url);
  }, nodeUrl('/whip/library'));
  await publisher.page.waitForFunction(() => (window as unknown as { pc: RTCPeerConnection }).pc.connectionState === 'connected', undefined, { timeout: 15_000 });

  const viewer = await openPage();
  await viewer.page.evaluate(async (url) => {
    const { WHEPClient } = (await import('/whep.js' as string)) as { WHEPClient: new () => { view(pc: RTCPeerConnection, url: string): Promise<void> } };
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    // As the library's own example: transceivers with the default direction (sendrecv) and no track.
    pc.addTransceiver('audio');
    pc.addTransceiver('video');
    pc.ontrack = (event) => {
      if (event.track.kind === 'video') document.querySelector('video')!.srcObject = event.streams[0] ?? new MediaStream([event.track]);
    };
    await new WHEPClient().view(pc, url);
  }, nodeUrl('/whep/library'));
  await waitForFrames(viewer.page, 30, 'at the whip-whep viewer');

  await publisher.page.evaluate(async () => (window as unknown as { client: { stop(): Promise<void> } }).client.stop());
  const deadline = Date.now() + 5000;
  while (sfu.node.rooms.dump().find((r) => r.name === 'library')?.participants.some((p) => p.identity.startsWith('whip-'))) {
    if (Date.now() > deadline) assert.fail('the library\'s stop() (DELETE) did not end the WHIP session');
    await sleep(100);
  }
  assert.deepEqual([...publisher.problems, ...viewer.problems], []);
});
