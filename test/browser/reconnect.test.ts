import assert from 'node:assert/strict';
import { after, afterEach, before, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { signAccessToken, type SigningKey } from '../../control/auth/access-token.js';
import type * as ShoalClientModule from '../../control/web/shoal-client.js';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import { connectionStats, joinWithDemoPage, launchChromium, openPage, sleep } from '../support/chromium.js';
import { loopbackEnv, serve, stopServed, type Served } from '../support/cli.js';
import { NatsCluster } from '../support/nats.js';
import { startSfu } from '../support/sfu.js';

/**
 * The browser client rejoins through another node when its node is lost.
 * Every node is a `shoal serve` process of its own, so that it can be killed.
 * Most tests run unclustered nodes (the viewer on node 2 sees the publisher
 * once the publisher has moved to node 2); the cluster test runs three nodes
 * on a real 3-server NATS cluster with the viewer on node 3, which decodes
 * the publisher before the fault and again after it moved.
 */

interface TestNode {
  served: Served;
  /** ws://127.0.0.1:PORT/ws */
  url: string;
  httpUrl: string;
}

let browser: Browser;
let nats: NatsCluster | undefined;
const running: TestNode[] = [];
const sockets: SignalingClient[] = [];

before(async () => {
  browser = await launchChromium();
});
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  // SIGKILL also ends a node that a test stopped with SIGSTOP.
  await Promise.all(running.splice(0).map(({ served }) => stopServed(served, 'SIGKILL')));
});
after(async () => {
  await browser?.close();
  await nats?.close();
});

/** `count` nodes on loopback, one media worker each, `env` added to their environment. */
async function startNodes(count: number, env: Record<string, string> = {}): Promise<TestNode[]> {
  const nodes = await Promise.all(
    Array.from({ length: count }, async () => {
      const served = await serve({ ...(await loopbackEnv()), SHOAL_WORKERS: '1', ...env });
      const node = { served, url: `ws://127.0.0.1:${served.port}/ws`, httpUrl: `http://127.0.0.1:${served.port}` };
      running.push(node);
      return node;
    }),
  );
  return nodes;
}

/** What a page's client reported, with the time (ms since the epoch, the test's clock too). */
interface LoggedEvent {
  type: 'reconnecting' | 'reconnected' | 'left' | 'close';
  at: number;
  reason?: string;
  url?: string;
  attempt?: number;
  participantId?: string;
  previousParticipantId?: string;
  downtimeMs?: number;
  trackIds?: string[];
  videoTrackId?: string;
}

/** What a test page holds: its client (a scripted page's own, or the demo page's), and what `recordEvents` logged. */
interface TestWindow {
  testClient: ShoalClientModule.ShoalClient;
  events: LoggedEvent[];
  statuses: Array<{ text: string; reconnecting: boolean }>;
}

/** Starts logging the client's reconnect events (and the demo's status lines) in the page. */
async function recordEvents(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as TestWindow;
    const client = (w.testClient ??= window.shoalDemo.client!);
    w.events = [];
    const log = (type: LoggedEvent['type'], fields: Omit<LoggedEvent, 'type' | 'at'>) => w.events.push({ type, at: Date.now(), ...fields });
    client.on('reconnecting', ({ reason, url, attempt }) => log('reconnecting', { reason, url, attempt }));
    client.on('reconnected', ({ participantId, previousParticipantId, url, downtimeMs, published }) =>
      log('reconnected', {
        participantId,
        previousParticipantId,
        url,
        downtimeMs,
        trackIds: published.map((p) => p.trackId),
        videoTrackId: published.find((p) => p.track?.kind === 'video')?.trackId,
      }),
    );
    client.on('left', ({ reason }) => log('left', { reason }));
    client.on('close', ({ reason }) => log('close', { reason }));
    w.statuses = [];
    const status = document.querySelector('#status');
    if (status) {
      new MutationObserver(() => w.statuses.push({ text: status.textContent ?? '', reconnecting: status.classList.contains('reconnecting') })).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
        attributes: true,
      });
    }
  });
}

function events(page: Page): Promise<LoggedEvent[]> {
  return page.evaluate(() => (window as unknown as TestWindow).events);
}

/** The id of the video track the page's client publishes now. */
function publishedVideo(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (window as unknown as TestWindow).testClient.published.find((p) => p.track?.kind === 'video')?.trackId);
}

/** A publisher on the demo page of `nodes[0]`, with the node list in `?nodes=`. */
async function demoPublisher(nodes: TestNode[], room: string, identity: string): Promise<Page> {
  const { page, problems } = await openPage(browser, nodes[0]!.httpUrl, `/?nodes=${encodeURIComponent(nodes.map((n) => n.url).join(','))}`);
  await joinWithDemoPage(page, room, identity);
  await recordEvents(page);
  assert.deepEqual(problems, []);
  return page;
}

/** A publisher driving ShoalClient from a script (reconnect options and a token function of its own). */
async function scriptedPublisher(
  nodes: TestNode[],
  room: string,
  identity: string,
  options: { reconnect?: ShoalClientModule.ReconnectOptions; tokens?: string[] } = {},
): Promise<Page> {
  const { page } = await openPage(browser, nodes[0]!.httpUrl);
  await page.evaluate(
    async ({ urls, room, identity, reconnect, tokens }) => {
      const moduleUrl = '/shoal-client.js';
      const { ShoalClient } = (await import(moduleUrl)) as typeof ShoalClientModule;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
      const client = await ShoalClient.connect(urls, reconnect ? { reconnect } : {});
      (window as unknown as TestWindow).testClient = client;
      // Each join (the first and every rejoin) takes the next token.
      let joins = 0;
      await client.join(room, identity, tokens ? { token: () => tokens[Math.min(joins++, tokens.length - 1)]! } : {});
      await client.publish(stream);
    },
    { urls: nodes.map((n) => n.url), room, identity, reconnect: options.reconnect, tokens: options.tokens },
  );
  await recordEvents(page);
  return page;
}

/** Polls `condition` until it holds; fails after `timeoutMs`. */
async function waitFor(condition: () => Promise<boolean>, what: () => string, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(pollMs);
  }
}

/** Video frames sent by the page's publisher connection so far. */
async function framesSent(page: Page): Promise<number> {
  const stats = await connectionStats(page, 'publisherPc', 'testClient');
  return Number(stats.find((s) => s.type === 'outbound-rtp' && s.kind === 'video')?.framesEncoded ?? 0);
}

/** Frames the viewer's demo page decoded of track `trackId` (0 while it does not receive it). */
async function framesDecoded(viewer: Page, trackId: string): Promise<number> {
  const mid = await viewer.evaluate((trackId) => window.shoalDemo.client?.remoteTracks.get(trackId)?.mid, trackId);
  if (mid === undefined) return 0;
  const stats = await connectionStats(viewer, 'subscriberPc');
  return Number(stats.find((s) => s.type === 'inbound-rtp' && s.mid === mid)?.framesDecoded ?? 0);
}

interface Move {
  /** Three nodes on a NATS cluster, the viewer on node 3 (not the node the publisher moves to). */
  cluster?: boolean;
  /** Makes node 1 go. */
  fault: (node: TestNode) => Promise<void>;
  /** The `reconnecting` reason expected. */
  reason: string;
  /** Reconnect options for a scripted publisher; the demo page publishes when absent. */
  reconnect?: ShoalClientModule.ReconnectOptions;
}

/**
 * Publisher alice with nodes [node 1, node 2] (on node 1), viewer bob on
 * node 2; the fault makes node 1 go; alice must come back through node 2 and
 * bob decode her video. The times from the fault go to the test's diagnostics.
 */
async function publisherMovesOn(t: TestContext, { fault, reason: expectedReason, reconnect, cluster }: Move): Promise<void> {
  const [node1, node2, node3] = cluster ? await startClusterNodes() : await startNodes(2);
  const viewerNode = cluster ? node3! : node2!;
  const room = 'moving';
  const alice = reconnect ? await scriptedPublisher([node1!, node2!], room, 'alice', { reconnect }) : await demoPublisher([node1!, node2!], room, 'alice');
  const { page: bob, problems: bobProblems } = await openPage(browser, viewerNode.httpUrl);
  await joinWithDemoPage(bob, room, 'bob');
  const start = await alice.evaluate(() => {
    const client = (window as unknown as TestWindow).testClient;
    return { url: client.url, participantId: client.participantId };
  });
  assert.equal(start.url, node1!.url, 'alice starts on node 1');
  // Alice is sending video through node 1 (with a cluster: and bob decodes it on node 3).
  await waitFor(async () => (await framesSent(alice)) > 10, () => 'alice sending video through node 1', 10_000);
  if (cluster) {
    const before = await bob.evaluate(() => [...window.shoalDemo.client!.remoteTracks.values()].find((r) => r.identity === 'alice' && r.kind === 'video')?.trackId);
    assert.ok(before, 'bob on node 3 receives alice on node 1');
    await waitFor(async () => (await framesDecoded(bob, before)) > 0, () => "bob decoding alice's video across nodes", 15_000);
  }

  const faultAt = Date.now();
  await fault(node1!);
  // Alice comes back with new track ids, and bob decodes her new video track (with a cluster, her old
  // tracks may linger at bob until node 1's records are cleaned up: they are not the ones looked at).
  let log: LoggedEvent[] = [];
  await waitFor(async () => (log = await events(alice)).some((e) => e.type === 'reconnected'), () => `alice back (her events: ${JSON.stringify(log)})`, 30_000);
  const reconnected = log.find((e) => e.type === 'reconnected')!;
  const video = reconnected.videoTrackId!;
  let decodedAt = 0;
  await waitFor(
    async () => {
      if ((await framesDecoded(bob, video)) > 0) decodedAt = Date.now();
      return decodedAt > 0;
    },
    () => `bob decoding alice's video ${video} through ${cluster ? 'node 3' : 'node 2'}`,
    30_000,
  );
  // And it keeps playing, in alice's tile.
  const first = await framesDecoded(bob, video);
  await waitFor(async () => (await framesDecoded(bob, video)) >= first + 20, () => 'twenty more frames of alice at bob', 10_000);
  await bob.waitForFunction((id) => (document.querySelector<HTMLVideoElement>(`.tile[data-participant="${id}"] video`)?.videoWidth ?? 0) > 0, reconnected.participantId, {
    timeout: 5000,
  });

  log = await events(alice);
  const reconnecting = log.filter((e) => e.type === 'reconnecting');
  assert.ok(reconnecting.length >= 1, `alice reported reconnecting: ${JSON.stringify(log)}`);
  assert.equal(reconnecting[0]!.reason, expectedReason);
  assert.equal(reconnecting[0]!.url, node2!.url, 'the first attempt goes to the next node');
  assert.equal(reconnected.url, node2!.url);
  assert.equal(reconnected.previousParticipantId, start.participantId);
  assert.notEqual(reconnected.participantId, start.participantId, 'a new participant id');
  assert.equal(reconnected.trackIds!.length, 2, 'audio and video published again');
  assert.ok(!log.some((e) => e.type === 'left' || e.type === 'close'), JSON.stringify(log));
  const tracksAtBob = await bob.evaluate(() => [...window.shoalDemo.client!.remoteTracks.keys()]);
  if (cluster) {
    // Node 1's old tracks go once the cluster has noticed it is gone.
    await waitFor(
      async () => (await bob.evaluate(() => [...window.shoalDemo.client!.remoteTracks.values()].filter((r) => r.identity === 'alice').length)) === 2,
      () => "node 1's tracks of alice removed at bob",
      15_000,
    );
  }
  for (const id of reconnected.trackIds!) assert.ok(tracksAtBob.includes(id), `bob receives the republished track ${id}: ${tracksAtBob}`);
  // Alice receives bob (a publisher on the demo page too) on her new subscriber connection.
  await alice.waitForFunction(
    () => [...(window as unknown as TestWindow).testClient.remoteTracks.values()].filter((t) => t.identity === 'bob').length === 2,
    undefined,
    { timeout: 10_000 },
  );

  t.diagnostic(
    `${expectedReason}: fault → reconnecting ${reconnecting[0]!.at - faultAt} ms, → reconnected ${reconnected.at - faultAt} ms ` +
      `(${reconnecting.length} attempt(s), downtime ${reconnected.downtimeMs} ms), → bob decodes alice's video ${decodedAt - faultAt} ms`,
  );
  assert.deepEqual(bobProblems, []);
  if (!reconnect) {
    // The demo page showed the reconnecting state, then the room again.
    const statuses = await alice.evaluate(() => (window as unknown as TestWindow).statuses);
    assert.ok(
      statuses.some((s) => s.reconnecting && s.text.startsWith(`Reconnecting (${expectedReason})`)),
      `the demo showed the reconnecting state: ${JSON.stringify(statuses)}`,
    );
    const now = await alice.evaluate(() => ({ text: document.querySelector('#status')!.textContent ?? '', reconnecting: document.querySelector('#status')!.classList.contains('reconnecting') }));
    assert.ok(now.text.startsWith('In room') && now.text.includes(node2!.url) && !now.reconnecting, `status after: ${now.text}`);
  }
}

/** Three nodes (n1, n2, n3) on a real 3-server NATS cluster (started once for the file), one media worker each. */
async function startClusterNodes(): Promise<TestNode[]> {
  nats ??= await NatsCluster.start(3);
  const servers = nats.servers.map((s) => s.url).join(',');
  const nodes: TestNode[] = [];
  for (const id of ['n1', 'n2', 'n3']) {
    const served = await serve({ ...(await loopbackEnv()), SHOAL_WORKERS: '1', SHOAL_NATS_URL: servers, SHOAL_NODE_ID: id, SHOAL_NODE_TIMEOUT: '3000' });
    const node = { served, url: `ws://127.0.0.1:${served.port}/ws`, httpUrl: `http://127.0.0.1:${served.port}` };
    running.push(node);
    nodes.push(node);
  }
  return nodes;
}

const MOVES: Array<[string, Move]> = [
  [
    "a cluster: SIGKILL of the publisher's node 1; it comes back through node 2 and the viewer on node 3 decodes it again",
    { reason: 'SOCKET_CLOSED', cluster: true, fault: async (node) => assert.equal(await stopServed(node.served, 'SIGKILL'), null) },
  ],
  [
    "SIGKILL of the publisher's node: the demo publisher rejoins through the next node and the viewer decodes it again",
    { reason: 'SOCKET_CLOSED', fault: async (node) => assert.equal(await stopServed(node.served, 'SIGKILL'), null) },
  ],
  [
    'a draining node (SIGTERM): its publisher moves to the next node',
    { reason: 'SHUTTING_DOWN', fault: async (node) => assert.equal(await stopServed(node.served, 'SIGTERM'), 0, 'the node drains and exits 0') },
  ],
  [
    'a node that stops answering (SIGSTOP) is noticed by the ping timeout and left for the next one',
    { reason: 'PING_TIMEOUT', fault: async (node) => void node.served.child.kill('SIGSTOP'), reconnect: { pingIntervalMs: 500, pingTimeoutMs: 1500 } },
  ],
];
for (const [name, move] of MOVES) test(name, { timeout: 90_000 }, (t) => publisherMovesOn(t, move));

test('a client REPLACED by a session of the same identity does not rejoin', { timeout: 60_000 }, async () => {
  const nodes = await startNodes(2);
  // A short back-off: a wrong rejoin would come within ~100 ms.
  const alice = await scriptedPublisher(nodes, 'replaced', 'alice', { reconnect: { initialDelayMs: 100 } });
  const intruder = await SignalingClient.connect(nodes[0]!.url, 'json');
  sockets.push(intruder);
  const joined = await intruder.request({ join: { room: 'replaced', identity: 'alice' } });
  assert.equal(joined.message, 'joined');

  await alice.waitForFunction(() => (window as unknown as TestWindow).events.some((e) => e.type === 'left'), undefined, { timeout: 10_000 });
  const state = await alice.evaluate(() => {
    const client = (window as unknown as TestWindow).testClient;
    return { state: client.state, publisher: client.publisherPc === undefined, remote: client.remoteTracks.size };
  });
  assert.deepEqual(state, { state: 'connected', publisher: true, remote: 0 }, 'out of the room, socket kept for another join');
  // Nothing more happens: no attempt, and the intruder keeps its place (a rejoin would replace it).
  const replacedIntruder = await intruder.waitFor((e) => e.message === 'error' && (e.error as { code: string }).code === 'REPLACED', 2000).then(
    () => true,
    () => false,
  );
  assert.equal(replacedIntruder, false, 'the replaced client did not come back');
  const log = await events(alice);
  assert.deepEqual(
    log.map((e) => [e.type, e.reason]),
    [['left', 'REPLACED']],
  );
});

test('a rejoin refused for good (expired token) ends the session instead of looping', { timeout: 60_000 }, async () => {
  const secret = 'a browser-test secret of at least 32 bytes';
  const key: SigningKey = { algorithm: 'HS256', secret: Buffer.from(secret) };
  const nowS = Math.floor(Date.now() / 1000);
  const token = (exp: number) => signAccessToken({ room: 'tokens', identity: 'alice', grants: ['publish', 'subscribe', 'data'], exp }, key);
  const nodes = await startNodes(2, { SHOAL_AUTH_SECRET: secret });
  // The first join gets a valid token, every rejoin one that expired an hour ago.
  const alice = await scriptedPublisher(nodes, 'tokens', 'alice', { tokens: [token(nowS + 600), token(nowS - 3600)], reconnect: { initialDelayMs: 100 } });
  await stopServed(nodes[0]!.served, 'SIGKILL');
  await alice.waitForFunction(() => (window as unknown as TestWindow).events.some((e) => e.type === 'left'), undefined, { timeout: 15_000 });
  const log = await events(alice);
  assert.deepEqual(
    log.map((e) => [e.type, e.reason]),
    [
      ['reconnecting', 'SOCKET_CLOSED'],
      ['left', 'TOKEN_EXPIRED'],
      ['close', 'rejoin refused: TOKEN_EXPIRED'],
    ],
  );
  const state = await alice.evaluate(() => (window as unknown as TestWindow).testClient.state);
  assert.equal(state, 'closed');
});

test('a failed media worker: publisher and viewer rejoin on the same node and media flows again', { timeout: 60_000 }, async (t) => {
  const sfu = await startSfu({ workers: 1 });
  try {
    const node = { url: sfu.url, httpUrl: sfu.httpUrl } as TestNode;
    const alice = await scriptedPublisher([node], 'crash', 'alice');
    const { page: bob, problems } = await openPage(browser, sfu.httpUrl);
    await joinWithDemoPage(bob, 'crash', 'bob');
    await recordEvents(bob);
    const aliceVideo = (await publishedVideo(alice))!;
    await waitFor(async () => (await framesDecoded(bob, aliceVideo)) > 10, () => 'bob decoding alice', 10_000);
    // (The demo page connects to its own origin, ws://localhost:PORT/ws.)
    const bobUrl = await bob.evaluate(() => window.shoalDemo.client!.url);

    const crashedAt = Date.now();
    await sfu.node.pool.get(0)!.request('crash', {});
    // Both come back; bob decodes alice's new video track, and has none of the old ones.
    const logs = new Map<Page, LoggedEvent[]>();
    const back = async (page: Page) => {
      logs.set(page, await events(page));
      return logs.get(page)!.some((e) => e.type === 'reconnected');
    };
    await waitFor(async () => (await back(alice)) && (await back(bob)), () => `both back: ${JSON.stringify([...logs.values()])}`, 30_000);
    const newVideo = (await publishedVideo(alice))!;
    assert.notEqual(newVideo, aliceVideo);
    await waitFor(async () => (await framesDecoded(bob, newVideo)) > 10, () => 'bob decoding alice again', 10_000);
    const tracksAtBob = await bob.evaluate(() => [...window.shoalDemo.client!.remoteTracks.keys()]);
    assert.equal(tracksAtBob.length, 2, `bob receives alice's two new tracks only: ${tracksAtBob}`);
    for (const page of [alice, bob]) {
      const log = logs.get(page)!;
      assert.equal(log[0]?.type, 'reconnecting', JSON.stringify(log));
      assert.equal(log[0]?.reason, 'WORKER_FAILED');
      assert.equal(log[0]?.url, page === alice ? sfu.url : bobUrl, 'a failed worker is no reason to leave the node');
      assert.equal(log.at(-1)?.type, 'reconnected', JSON.stringify(log));
      t.diagnostic(`${page === alice ? 'alice' : 'bob'}: ${log.filter((e) => e.type === 'reconnecting').length} attempt(s), back after ${log.at(-1)!.at - crashedAt} ms`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await sfu.stop();
  }
});
