/**
 * Fuzzing against a live node with real media workers: signaling frames over
 * WebSockets, and publisher offers through a worker's libdatachannel. A
 * publisher/subscriber pair in another room must keep receiving throughout,
 * and no worker may be replaced.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { after, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { SignalingClient, type ServerEvent } from '../../bench/client/signaling-client.js';
import { assertSameWorkers, Bystanders, workersOf } from '../support/hostile.js';
import { errorCode, Peers, waitUntil } from '../support/peers.js';
import { startSfu, type TestSfu } from '../support/sfu.js';
import { publisherOffer, signalingJson, signalingProtobuf } from './generators.js';
import { fuzzCases, fuzzSeed, Random, runFuzz } from './kit.js';

const CONNECTIONS = 8;
/** Frames a connection sends before it waits for the node to answer a ping (keeps the node's queue short). */
const FRAMES_PER_PING = 50;

let sfu: TestSfu;
let peers: Peers;
let workers: readonly unknown[];
let bystanders: Bystanders;

before(async () => {
  // The fuzzers send thousands of messages a second per connection: the rate limit is not what they test.
  sfu = await startSfu({ workers: 2, limits: { maxMessagesPerSecond: 1_000_000 } });
  workers = workersOf(sfu);
  peers = new Peers(sfu.url);
  bystanders = await Bystanders.join(peers);
});

after(async () => {
  peers.closeAll();
  await sfu.stop();
  nodeDataChannel.cleanup();
});

/** No worker was replaced, and the bystanders received with no gap of a second or more. */
function assertUndisturbed(): string {
  assertSameWorkers(sfu, workers);
  return `bystander's largest gap ${bystanders.assertUndisturbed(1000).maxGapMs.toFixed(0)} ms`;
}

describe('fuzzing a live node', { timeout: 600_000 }, () => {
  test('signaling frames (JSON and protobuf) from several connections while media flows', async (t) => {
    bystanders.start();
    const total = fuzzCases();
    const seed = fuzzSeed();
    const rng = new Random(seed);
    // A connection the node closes (a text frame that is not UTF-8 fails it, RFC 6455) is replaced.
    const closes = new Map<number, number>();
    const closed = new Map<SignalingClient, Promise<void>>();
    const open = async (i: number) => {
      const c = await SignalingClient.connect(sfu.url, i % 2 ? 'binary' : 'json');
      closed.set(c, new Promise((resolve) => c.onClose((code) => {
        closes.set(code, (closes.get(code) ?? 0) + 1);
        resolve();
      })));
      return c;
    };
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => open(i)));
    const replies: ServerEvent[] = [];
    let sent = 0;
    while (sent < total) {
      // Each round: every connection sends a batch of frames, then must answer a ping.
      await Promise.all(
        clients.map(async (c, i) => {
          // A text frame that is not UTF-8 ends the connection, and the frames behind it with it: it goes last.
          let notUtf8: Buffer | undefined;
          for (let n = 0; n < FRAMES_PER_PING && sent < total && !c.closed; n++, sent++) {
            if (c.encoding === 'binary') {
              c.sendRaw(Buffer.from(signalingProtobuf(rng)));
              continue;
            }
            const frame = Buffer.from(signalingJson(rng));
            if (isUtf8(frame)) c.sendRaw(frame, { text: true });
            else notUtf8 ??= frame;
          }
          if (notUtf8) c.sendRaw(notUtf8, { text: true });
          const pong = await Promise.race([c.request({ ping: { nonce: sent } }, 30_000).catch((error: Error) => error), closed.get(c)]);
          if (!c.closed) assert.ok(pong && !(pong instanceof Error), `an open connection answers: ${String(pong)}`);
          else {
            replies.push(...c.received);
            clients[i] = await open(i);
          }
        }),
      );
    }
    replies.push(...clients.flatMap((c) => c.received));
    const errors = new Map<string, number>();
    for (const e of replies.filter((r) => r.message === 'error')) errors.set(errorCode(e)!, (errors.get(errorCode(e)!) ?? 0) + 1);
    t.diagnostic(`${sent} frames, seed ${seed}; ${replies.length} replies; errors ${JSON.stringify(Object.fromEntries(errors))}; connections closed by code ${JSON.stringify(Object.fromEntries(closes))}; ${assertUndisturbed()}`);
    assert.ok([...closes.keys()].every((code) => code === 1006 || code === 1007), 'only text frames that are not UTF-8 close a connection (1007, or 1006 from uWebSockets.js)');
    assert.equal(errors.get('INTERNAL') ?? 0, 0, 'no INTERNAL error');
    for (const c of clients) c.close();
  });

  test('publisher offers through a real worker', async (t) => {
    bystanders.start();
    const publishers = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => SignalingClient.connect(sfu.url, i % 2 ? 'binary' : 'json')));
    for (const [i, c] of publishers.entries()) assert.equal((await c.request({ join: { room: `sdp-fuzz-${i % 2}`, identity: `p${i}` } })).message, 'joined');
    const outcomes = new Map<string, number>();
    let next = 0;
    const report = await runFuzz<string>({
      name: 'sdp-worker',
      generate: publisherOffer,
      check: async (sdp) => {
        const c = publishers[next++ % publishers.length]!;
        const reply = await c.request({ publishOffer: { sdp } }, 30_000);
        const outcome = reply.message === 'publishAnswer' ? 'answered' : errorCode(reply)!;
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (!['answered', 'INVALID_SDP', 'TOO_MANY_TRACKS', 'TOO_MANY_CANDIDATES'].includes(outcome)) {
          throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
        }
      },
      expected: () => false,
    });
    t.diagnostic(`${report.cases} offers + ${report.regressions} regressions, seed ${report.seed}, slowest ${report.slowestMs.toFixed(0)} ms; ${JSON.stringify(Object.fromEntries(outcomes))}; ${assertUndisturbed()}`);
    assert.deepEqual(report.failures, []);
    for (const c of publishers) c.close();
    await waitUntil(() => sfu.node.rooms.dump().every((r) => !r.name.startsWith('sdp-fuzz')), 5000, 'the fuzzing publishers to leave');
  });
});
