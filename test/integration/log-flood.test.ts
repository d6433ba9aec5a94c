import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import { publisherOfferSdp } from '../support/hostile.js';
import { errorCode, sfuForThisFile, sleep, waitUntil } from '../support/peers.js';

/** Every line the node logs (workers included), parsed. */
const lines: Array<Record<string, unknown> & { level: number; msg: string }> = [];
const env = sfuForThisFile({
  workers: 1,
  logLevel: 'warn',
  // The flood must reach the worker: the message rate limit (ws-limits.test.ts) is not what this tests.
  limits: { maxMessagesPerSecond: 1_000_000 },
  logDestination: { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
});

const FLOOD = 10_000;
/** RateLimitedLog's default window. */
const RATE_LIMIT_WINDOW_MS = 10_000;
const PUBLISHER = 1;
const SUBSCRIBER = 2;

/** Candidates the server refuses before libdatachannel sees them. */
const REFUSED = [
  (i: number) => `candidate:${i} 1 udp 2122260223 224.0.${(i >> 8) & 255}.${i & 255} ${1000 + (i % 60000)} typ host`,
  (i: number) => `candidate:${i} 1 udp 2122260223 10.0.0.1 0 typ host`,
  (i: number) => `candidate:${i} 1 udp 2122260223 255.255.255.255 ${1000 + (i % 60000)} typ host`,
  (i: number) => `candidate:${i} 1 udp 2122260223 bad_name! ${1000 + (i % 60000)} typ host`,
  (i: number) => `candidate:nonsense ${i}`,
];

describe('log floods a client can cause', { timeout: 120_000 }, () => {
  test(`${FLOOD} bad candidates write a handful of warning lines`, async (t) => {
    const before = lines.length;
    // Half refused outright, on a subscriber connection.
    const mallory = await env.peers.join('flood', 'mallory');
    for (let i = 0; i < FLOOD / 2; i++) mallory.signaling.send({ trickle: { target: SUBSCRIBER, candidate: REFUSED[i % REFUSED.length]!(i), sdpMid: '0' } });
    await waitUntil(() => mallory.signaling.received.filter((e) => errorCode(e) !== undefined).length >= FLOOD / 2, 30_000, 'every refusal');
    // Half well-formed, on publisher connections, 64 each (the most one takes): libdatachannel
    // (libjuice) keeps 20 per connection and warns about every one after, then fails to reach them.
    const offer = await publisherOfferSdp();
    for (let sent = 0, cycle = 0; sent < FLOOD / 2; cycle++) {
      const client = await SignalingClient.connect(env.sfu.url);
      await client.request({ join: { room: 'flood', identity: `m${cycle}` } });
      await client.request({ publishOffer: { sdp: offer } });
      for (let i = 0; i < 64 && sent < FLOOD / 2; i++, sent++) {
        client.send({ trickle: { target: PUBLISHER, candidate: `candidate:${sent} 1 udp 2122260223 10.${cycle & 255}.${i}.1 ${2000 + i} typ host`, sdpMid: '0' } });
      }
      await client.request({ leave: {} });
      client.close();
    }
    // Past the rate limiter's window: what it held back is summed up in a line per kind.
    await sleep(RATE_LIMIT_WINDOW_MS + 500);
    const written = lines.slice(before);
    const byMessage = new Map<string, number>();
    for (const line of written) byMessage.set(line.msg.replace(/\d+/g, '#').slice(0, 90), (byMessage.get(line.msg.replace(/\d+/g, '#').slice(0, 90)) ?? 0) + 1);
    t.diagnostic(`${written.length} log lines: ${[...byMessage].map(([m, n]) => `${n}× ${m}`).join(' | ')}`);
    assert.ok(written.length < 50, `${written.length} log lines for ${FLOOD} bad candidates`);
    assert.ok(written.some((line) => Number(line.suppressed) > 1000), 'the flood is still told: a summary line counts what was held back');
  });

  test('a media worker\'s lines reach the node\'s log destination, its last one too', async () => {
    const worker = env.sfu.node.pool.get(0)!;
    await worker.request('crash', {});
    await waitUntil(() => lines.some((line) => line.level === 60 && line.worker === 0 && /media worker failed/.test(line.msg)), 5000, 'the fatal line');
    await waitUntil(() => env.sfu.node.pool.get(0) !== worker && env.sfu.node.pool.get(0)!.alive, 5000, 'a replacement worker');
  });
});
