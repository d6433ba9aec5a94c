import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { latestTrackId, type MediaPeer } from '../../bench/client/media-peer.js';
import type { ServerEvent } from '../../bench/client/signaling-client.js';
import { freeTcpPort } from '../../bench/harness/ports.js';
import { CLI, loopbackEnv } from '../support/cli.js';
import { packetsDuring } from '../support/peers.js';
import { shoalClusterForThisFile } from '../support/shoal-cluster.js';

const NODE_TIMEOUT_MS = 3000;
// Three Shoal processes (n1, n2, n3) on a real 3-server NATS cluster; dead nodes are noticed after 3 s.
const env = shoalClusterForThisFile(3, { nodeTimeoutMs: NODE_TIMEOUT_MS });
const join = (node: number, room: string, identity: string) => env.cluster.join(node, room, identity);
const publish = (node: number, room: string, identity: string) => env.cluster.publish(node, room, identity);

const isLeft = (identity: string) => (e: ServerEvent) => e.message === 'participantLeft' && (e.participantLeft as { identity: string }).identity === identity;
const isJoined = (identity: string) => (e: ServerEvent) => e.message === 'participantJoined' && (e.participantJoined as { participant: { identity: string } }).participant.identity === identity;

/** Resolves once packets of `trackIds` arrive at `peer` again (polled over 300 ms windows). */
async function flowing(peer: MediaPeer, trackIds: string[], timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await packetsDuring(peer, trackIds, 300)) === 0) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

function listed(peer: MediaPeer): string[] {
  return (peer.joined!.joined as { participants: Array<{ identity: string }> }).participants.map((p) => p.identity).sort();
}

describe('cluster faults', { timeout: 240_000 }, () => {
  test('SIGTERM drains at once: records removed without waiting for the node timeout, exit 0', async () => {
    const watcher = await join(0, 'drain', 'watcher');
    const leaving = await join(2, 'drain', 'leaving');
    const removed = leaving.signaling.waitFor((e) => e.message === 'error' && (e.error as { code: string }).code === 'SHUTTING_DOWN');
    const started = performance.now();
    const goneAt = watcher.signaling.waitFor(isLeft('leaving'), NODE_TIMEOUT_MS - 500, 'leaving to be gone before the node timeout').then(() => performance.now());
    const code = await env.cluster.stop(2);
    const exitedAt = performance.now();
    assert.equal(code, 0);
    await removed;
    const gone = (await goneAt) - started;
    process.stderr.write(`drain: participantLeft elsewhere ${Math.round(gone)} ms after SIGTERM; the node exited after ${Math.round(exitedAt - started)} ms\n`);
    await env.cluster.startNode(2);
  });

  test('a SIGKILLed node is noticed within the node timeout; each client elsewhere is told once; no ghosts; its restart starts clean', async () => {
    const { trackIds } = await publish(1, 'kill', 'victim');
    const watchers = [await join(0, 'kill', 'w1'), await join(2, 'kill', 'w2')];
    for (const w of watchers) for (const id of trackIds) await w.waitForPackets(id, 20);
    const killedAt = performance.now();
    await env.cluster.kill(1);
    for (const w of watchers) await w.signaling.waitFor(isLeft('victim'), NODE_TIMEOUT_MS * 3, 'the victim to be removed');
    const noticedMs = performance.now() - killedAt;
    process.stderr.write(`SIGKILL: participantLeft on the other nodes ${Math.round(noticedMs)} ms after the kill (node timeout ${NODE_TIMEOUT_MS} ms)\n`);
    assert.ok(noticedMs < NODE_TIMEOUT_MS * 2 + 2000, `noticed after ${Math.round(noticedMs)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const w of watchers) {
      assert.equal(w.signaling.received.filter(isLeft('victim')).length, 1, 'told exactly once');
      for (const id of trackIds) assert.equal(w.signaling.received.filter((e) => e.message === 'trackUnpublished' && (e.trackUnpublished as { trackId: string }).trackId === latestTrackId(id)).length, 1);
    }
    const late = await join(0, 'kill', 'late');
    assert.deepEqual(listed(late), ['w1', 'w2'], 'no ghost');

    await env.cluster.startNode(1);
    const fresh = await join(1, 'kill', 'fresh');
    assert.deepEqual(listed(fresh), ['late', 'w1', 'w2'], 'the restarted node sees the room as it is');
  });

  test('NATS restarted (one server, then all three): cross-node media resumes, same-node media never stops', async () => {
    const { trackIds } = await publish(0, 'nats', 'alice');
    const local = await join(0, 'nats', 'local');
    const remote = await join(1, 'nats', 'remote');
    for (const peer of [local, remote]) for (const id of trackIds) await peer.waitForPackets(id, 50);

    await env.cluster.nats.restart(0);
    const afterOne = performance.now();
    await flowing(remote, trackIds, 15_000, 'cross-node media after one server restarted');
    process.stderr.write(`one NATS server restarted: cross-node media back after ${Math.round(performance.now() - afterOne)} ms\n`);

    let localStalled = false;
    let stopWatching = false;
    const watchLocal = (async () => {
      while (!stopWatching) if ((await packetsDuring(local, trackIds, 500)) === 0) localStalled = true;
    })();
    await env.cluster.nats.stopAll();
    const outage = new Promise((resolve) => setTimeout(resolve, 2000));
    // A join needs the cluster state to decide its identity: while NATS is away it is refused, clearly.
    const refused = await join(2, 'nats', 'during-outage').then(
      () => 'joined',
      (error: Error) => error.message,
    );
    assert.match(refused, /UNAVAILABLE/);
    await outage;
    await env.cluster.nats.startAll();
    const back = performance.now();
    await flowing(remote, trackIds, 15_000, 'cross-node media after all servers restarted');
    const resumedMs = performance.now() - back;
    stopWatching = true;
    await watchLocal;
    process.stderr.write(`all NATS servers restarted: cross-node media back ${Math.round(resumedMs)} ms after they were ready\n`);
    assert.ok(resumedMs < 5000, `cross-node media resumed ${Math.round(resumedMs)} ms after NATS was back`);
    assert.equal(localStalled, false, 'same-node media never stopped');
    // State written meanwhile is not lost: a newcomer elsewhere sees everyone.
    const newcomer = await join(2, 'nats', 'newcomer');
    assert.deepEqual(listed(newcomer), ['alice', 'local', 'remote']);
  });

  test('a node cut off longer than the node timeout is dead for the others, and what it holds reappears when it is back', async () => {
    const watcher = await join(0, 'cutoff', 'watcher');
    const held = await join(2, 'cutoff', 'held');
    const pid = env.cluster.nodes[2]!.served.child.pid!;
    process.kill(pid, 'SIGSTOP');
    let back: Promise<ServerEvent>;
    try {
      await watcher.signaling.waitFor(isLeft('held'), NODE_TIMEOUT_MS * 3, 'the cut-off node to be dead');
      back = watcher.signaling.next('participantJoined', 15_000, isJoined('held'));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const resumed = performance.now();
    await back;
    process.stderr.write(`cut-off node back: its participant reappeared after ${Math.round(performance.now() - resumed)} ms\n`);
    const late = await join(1, 'cutoff', 'late');
    assert.deepEqual(listed(late), ['held', 'watcher']);
    assert.ok(held);
  });

  test('NATS unreachable at start: a clear error naming the URL and exit 1 within the bound', async () => {
    const url = `nats://127.0.0.1:${await freeTcpPort()}`;
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: { PATH: process.env.PATH, ...(await loopbackEnv()), SHOAL_NATS_URL: url, SHOAL_NATS_CONNECT_TIMEOUT: '2000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = performance.now();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.ok(performance.now() - started < 15_000);
    assert.ok(output.includes(url), `the error names ${url}: ${output.slice(-500)}`);
  });
});
