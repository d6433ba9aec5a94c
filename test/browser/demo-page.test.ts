import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumForThisFile, connectionStats, joinWithDemoPage, openPage, sleep } from '../support/chromium.js';
import { loopbackEnv, serve, stopServed, type Served } from '../support/cli.js';

/**
 * The demo page as a person uses it (control/web/demo.ts): the start state
 * comes back with the camera and microphone stopped whatever ends a session,
 * the form is locked during one, names are checked before anything is sent,
 * "Disconnected" says why, an insecure origin is explained, and mute, camera
 * off and leave work as a subscriber sees them.
 */
const env = chromiumForThisFile();
const served: Served[] = [];
afterEach(async () => {
  await Promise.all(served.splice(0).map((node) => stopServed(node, 'SIGKILL')));
});

interface TestWindow {
  /** Every stream getUserMedia gave the page, kept by the test to see them stopped. */
  gotStreams: MediaStream[];
}

/** The demo page, with every getUserMedia stream recorded (window.gotStreams) and the WebSockets it opens counted. */
async function demoPage(httpUrl: string, path = '/'): Promise<{ page: Page; problems: string[]; sockets: string[] }> {
  const { page, problems } = await openPage(env.browser, httpUrl, path);
  const sockets: string[] = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  await page.addInitScript(() => {
    const w = window as unknown as TestWindow;
    w.gotStreams = [];
    const devices = navigator.mediaDevices;
    if (!devices) return;
    const original = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      const stream = await original(constraints);
      w.gotStreams.push(stream);
      return stream;
    };
  });
  await page.reload(); // with the script above running first
  return { page, problems, sockets };
}

/** What the page shows and holds: the start state is phase idle, form editable, Join on, the others off, an empty grid, no live media. */
function pageState(page: Page) {
  return page.evaluate(() => {
    const w = window as unknown as TestWindow;
    const disabled = (selector: string) => document.querySelector<HTMLButtonElement | HTMLInputElement>(selector)!.disabled;
    const tracks = w.gotStreams.flatMap((stream) => stream.getTracks());
    return {
      status: document.querySelector('#status')!.textContent ?? '',
      phase: window.shoalDemo.phase,
      fieldsLocked: document.querySelector<HTMLFieldSetElement>('#session-fields')!.disabled,
      buttons: { join: !disabled('#join'), mute: !disabled('#mute'), camera: !disabled('#camera'), leave: !disabled('#leave') },
      tiles: document.querySelectorAll('.tile').length,
      client: window.shoalDemo.client !== undefined,
      tracks: tracks.map((track) => `${track.kind}:${track.readyState}`).sort(),
    };
  });
}

const START_BUTTONS = { join: true, mute: false, camera: false, leave: false };

/** Waits until the status line starts with `prefix`. */
async function statusStartsWith(page: Page, prefix: string, timeout = 15_000): Promise<string> {
  await page.waitForFunction((want) => document.querySelector('#status')?.textContent?.startsWith(want), prefix, { timeout }).catch(async () => {
    throw new Error(`status never started with "${prefix}": it is "${await page.textContent('#status')}"`);
  });
  return (await page.textContent('#status')) ?? '';
}

/** Asserts the page is back at its start state with every camera and microphone track it got ended. */
async function assertStartState(page: Page, got: number): Promise<void> {
  const state = await pageState(page);
  assert.equal(state.phase, 'idle');
  assert.equal(state.fieldsLocked, false, 'room and identity can be edited again');
  assert.deepEqual(state.buttons, START_BUTTONS);
  assert.equal(state.tiles, 0, 'the grid is empty');
  assert.equal(state.client, false);
  assert.equal(state.tracks.length, got, `the page got ${got} tracks from getUserMedia: ${state.tracks}`);
  assert.ok(state.tracks.every((track) => track.endsWith(':ended')), `camera and microphone stopped: ${state.tracks}`);
}

test('REPLACED: the same identity joining from a second page sends the first back to its start state, camera and microphone stopped, and says why', { timeout: 60_000 }, async () => {
  const first = await demoPage(env.sfu.httpUrl);
  await joinWithDemoPage(first.page, 'replaced', 'alice');
  assert.deepEqual((await pageState(first.page)).tracks, ['audio:live', 'video:live']);

  const second = await demoPage(env.sfu.httpUrl);
  await joinWithDemoPage(second.page, 'replaced', 'alice');
  const status = await statusStartsWith(first.page, 'Disconnected: REPLACED');
  assert.match(status, /^Disconnected: REPLACED: .+/, 'the server\'s reason follows the code');
  await assertStartState(first.page, 2);
  assert.equal((await pageState(second.page)).phase, 'joined', 'the newer session keeps its place');
  await second.page.click('#leave');
  assert.deepEqual([...first.problems, ...second.problems], []);
});

test('a failure while joining (no node answers) returns to the start state with the camera stopped', { timeout: 60_000 }, async () => {
  const { page, problems } = await demoPage(env.sfu.httpUrl, '/?nodes=ws://127.0.0.1:9/ws');
  await page.fill('input[name=room]', 'failing');
  await page.click('#join');
  const status = await statusStartsWith(page, 'Could not join');
  assert.match(status, /^Could not join: CLOSED: cannot connect to ws:\/\/127\.0\.0\.1:9\/ws/);
  await assertStartState(page, 2);
  assert.deepEqual(problems.filter((p) => !p.startsWith('console: WebSocket connection')), []);
});

test('room, identity, token and nodes are locked while joined; Leave ends the session, stops the camera and unlocks them', { timeout: 60_000 }, async () => {
  const alice = await demoPage(env.sfu.httpUrl);
  const bob = await demoPage(env.sfu.httpUrl);
  await joinWithDemoPage(alice.page, 'locked', 'alice');
  await joinWithDemoPage(bob.page, 'locked', 'bob');
  const joined = await pageState(alice.page);
  assert.equal(joined.phase, 'joined');
  assert.deepEqual(joined.buttons, { join: false, mute: true, camera: true, leave: true });
  for (const name of ['room', 'identity', 'token', 'nodes']) {
    assert.equal(await alice.page.isEditable(`input[name=${name}]`), false, `${name} cannot be edited while joined`);
  }
  await bob.page.waitForFunction(() => document.querySelectorAll('.tile:not(.local)').length === 1, undefined, { timeout: 10_000 });

  await alice.page.click('#leave');
  assert.equal(await statusStartsWith(alice.page, 'Left the room'), 'Left the room');
  await assertStartState(alice.page, 2);
  for (const name of ['room', 'identity']) assert.equal(await alice.page.isEditable(`input[name=${name}]`), true);
  await bob.page.waitForFunction(() => document.querySelectorAll('.tile:not(.local)').length === 0, undefined, { timeout: 10_000 });
  await bob.page.click('#leave');
  assert.deepEqual([...alice.problems, ...bob.problems], []);
});

test('an invalid room or identity says which characters are allowed, before anything is sent', { timeout: 60_000 }, async () => {
  const { page, problems, sockets } = await demoPage(env.sfu.httpUrl);
  await page.fill('input[name=room]', 'team room');
  await page.fill('input[name=identity]', 'alice');
  await page.click('#join');
  let status = await statusStartsWith(page, 'Invalid room');
  assert.equal(status, 'Invalid room: room contains " "; allowed are A-Z, a-z, 0-9, "_" and "-"');
  assert.equal(await page.$eval('input[name=room]', (input: HTMLInputElement) => input.validationMessage), 'room contains " "; allowed are A-Z, a-z, 0-9, "_" and "-"');

  await page.fill('input[name=room]', 'team');
  await page.fill('input[name=identity]', 'alice.smith');
  await page.click('#join');
  status = await statusStartsWith(page, 'Invalid identity');
  assert.match(status, /identity contains "\."; allowed are A-Z, a-z, 0-9, "_" and "-"/);
  await page.fill('input[name=identity]', 'x'.repeat(64) + 'y'); // maxlength keeps it to 64
  assert.equal(await page.inputValue('input[name=identity]'), 'x'.repeat(64));

  const state = await pageState(page);
  assert.deepEqual([state.phase, state.tracks.length, state.client], ['idle', 0, false], 'no camera asked for, no client made');
  assert.deepEqual(sockets, [], 'no WebSocket opened');
  assert.deepEqual(env.sfu.node.rooms.dump().filter((room) => room.name === 'team'), []);

  await page.fill('input[name=identity]', 'alice_smith-2');
  await joinWithDemoPage(page, 'team', 'alice_smith-2');
  await page.click('#leave');
  assert.deepEqual(problems, []);
});

test('when the node goes away for good, "Disconnected" says why, after the reconnecting state, and the camera stops', { timeout: 90_000 }, async () => {
  const node = await serve({ ...(await loopbackEnv()), SHOAL_WORKERS: '1' });
  served.push(node);
  const { page, problems } = await demoPage(`http://127.0.0.1:${node.port}`);
  await joinWithDemoPage(page, 'lost', 'alice');
  await page.evaluate(() => {
    const w = window as unknown as { statuses: string[] };
    w.statuses = [];
    const status = document.querySelector('#status')!;
    new MutationObserver(() => w.statuses.push(status.textContent ?? '')).observe(status, { childList: true, characterData: true, subtree: true });
  });
  assert.equal(await stopServed(node, 'SIGKILL'), null);

  const status = await statusStartsWith(page, 'Disconnected', 45_000);
  assert.match(
    status,
    /^Disconnected: lost the node \(SOCKET_CLOSED: the signaling WebSocket closed \(1006\)\); no node took this session back in 5 attempts \(the last: CLOSED: cannot connect to ws:\/\/localhost:\d+\/ws\)$/,
  );
  const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
  assert.ok(statuses.some((s) => s.startsWith('Reconnecting (SOCKET_CLOSED): attempt 1 of 5')), `the reconnecting state came first: ${JSON.stringify(statuses)}`);
  await assertStartState(page, 2);
  assert.deepEqual(problems.filter((p) => !p.startsWith('console: WebSocket connection')), []);
});

/** The mean brightness (0-255) of a remote tile's current video frame at the subscriber, or -1 before it has one. */
function remoteBrightness(page: Page): Promise<number> {
  return page.evaluate(() => {
    const video = document.querySelector<HTMLVideoElement>('.tile:not(.local) video');
    if (!video || video.videoWidth === 0) return -1;
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 36;
    const context = canvas.getContext('2d', { willReadFrequently: true })!;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) sum += (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
    return sum / (data.length / 4);
  });
}

/** The audio energy a subscriber received from one remote participant so far (inbound-rtp totalAudioEnergy), and its video frames decoded. */
async function received(page: Page): Promise<{ energy: number; frames: number }> {
  const mids = await page.evaluate(() => Object.fromEntries([...window.shoalDemo.client!.remoteTracks.values()].map((t) => [t.kind, t.mid])));
  const stats = await connectionStats(page, 'subscriberPc');
  const inbound = (mid: string | undefined) => stats.find((s) => s.type === 'inbound-rtp' && s.mid === mid);
  return { energy: Number(inbound(mids.audio)?.totalAudioEnergy ?? 0), frames: Number(inbound(mids.video)?.framesDecoded ?? 0) };
}

/** How much audio energy the subscriber receives in `ms`. */
async function energyDuring(page: Page, ms: number): Promise<number> {
  const before = await received(page);
  await sleep(ms);
  return (await received(page)).energy - before.energy;
}

async function waitBrightness(page: Page, test: (b: number) => boolean, what: string): Promise<number> {
  const deadline = Date.now() + 15_000;
  let brightness = await remoteBrightness(page);
  while (!test(brightness) && Date.now() < deadline) {
    await sleep(200);
    brightness = await remoteBrightness(page);
  }
  assert.ok(test(brightness), `${what}: the subscriber's frame has brightness ${brightness}`);
  return brightness;
}

test('mute and camera off: the subscriber hears silence and sees black frames, the tracks stay; both come back', { timeout: 90_000 }, async (t) => {
  const alice = await demoPage(env.sfu.httpUrl);
  const bob = await demoPage(env.sfu.httpUrl);
  await joinWithDemoPage(alice.page, 'mute', 'alice');
  await joinWithDemoPage(bob.page, 'mute', 'bob');
  await bob.page.waitForFunction(() => window.shoalDemo.client!.remoteTracks.size === 2, undefined, { timeout: 10_000 });

  const on = await waitBrightness(bob.page, (b) => b > 20, 'the fake camera is bright');
  const sounding = await energyDuring(bob.page, 2000);
  assert.ok(sounding > 0, `the fake microphone is heard: energy ${sounding} in 2 s`);

  await alice.page.click('#mute');
  await alice.page.click('#camera');
  const labels = await alice.page.evaluate(() => [document.querySelector('#mute')!.textContent, document.querySelector('#camera')!.textContent, document.querySelector('#mute')!.getAttribute('aria-pressed')]);
  assert.deepEqual(labels, ['Unmute', 'Camera on', 'true']);
  const off = await waitBrightness(bob.page, (b) => b >= 0 && b < 5, 'camera off shows black');
  await sleep(1000); // the last frames of sound already in flight
  const silent = await energyDuring(bob.page, 2000);
  const framesBefore = (await received(bob.page)).frames;
  await sleep(2000);
  const blackFrames = (await received(bob.page)).frames - framesBefore;
  t.diagnostic(`brightness ${on.toFixed(1)} → ${off.toFixed(1)}; audio energy in 2 s ${sounding.toExponential(2)} → ${silent.toExponential(2)}; black frames decoded in 2 s: ${blackFrames}`);
  assert.ok(silent < sounding / 100, `muted: silence (energy ${silent} in 2 s, against ${sounding})`);
  assert.equal(await bob.page.evaluate(() => window.shoalDemo.client!.remoteTracks.size), 2, 'the tracks stay published');

  await alice.page.click('#mute');
  await alice.page.click('#camera');
  await waitBrightness(bob.page, (b) => b > 20, 'camera on again');
  const back = await energyDuring(bob.page, 2000);
  assert.ok(back > sounding / 10, `unmuted: heard again (energy ${back} in 2 s)`);
  await alice.page.click('#leave');
  await bob.page.click('#leave');
  assert.deepEqual([...alice.problems, ...bob.problems], []);
});

test('over plain http from another host (not a secure context) the page explains that https or localhost is needed, with no TypeError', { timeout: 60_000 }, async (t) => {
  // A name other than localhost that resolves to the node: Chromium treats http://NAME as insecure, as it would a LAN address.
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP shoal-demo.test 127.0.0.1'], timeout: 20_000 });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
  const origin = `http://shoal-demo.test:${env.sfu.node.port}`;
  await page.goto(`${origin}/`);
  assert.deepEqual(await page.evaluate(() => [window.isSecureContext, navigator.mediaDevices === undefined]), [false, true]);
  const status = await statusStartsWith(page, 'Camera and microphone need a secure context');
  assert.ok(status.includes(origin) && status.includes('https') && status.includes('localhost'), status);
  assert.equal(await page.isDisabled('#join'), true, 'Join is off: it could only fail');
  // Enter still submits the form: the explanation stays, nothing throws.
  await page.press('input[name=room]', 'Enter');
  assert.equal(await statusStartsWith(page, 'Camera and microphone need a secure context'), status);
  assert.deepEqual(problems, []);
});
