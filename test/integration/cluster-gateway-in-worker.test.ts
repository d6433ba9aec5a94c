/**
 * `--media-gateway worker` (the default with one worker): the node's media
 * gateway runs inside its only media worker. Two in-process nodes of one
 * worker each on one real nats-server: media crosses between them, the
 * gateway's counters reach /stats, and a worker that fails takes its gateway
 * with it; the replacement connects again and carries media across nodes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gatewayInWorker } from '../../control/config.js';
import type { ProducerInfo } from '../../media/worker/protocol.js';
import { waitUntil } from '../support/peers.js';
import type { TestSfu } from '../support/sfu.js';
import { twoNodesForThisFile } from '../support/two-nodes.js';

const env = twoNodesForThisFile((cluster) => [
  { nodeId: 'solo-1', workers: 1, cluster },
  { nodeId: 'solo-2', workers: 1, cluster: { ...cluster, mediaGateway: 'worker' } },
]);

async function producersOf(sfu: TestSfu, participantId: string): Promise<ProducerInfo[]> {
  const all = await sfu.node.pool.get(0)!.request('producers', {});
  return all.filter((p) => p.participantId === participantId);
}

/** Makes a participant of `sfu` consume another node's tracks, as the room service does for a remote publisher. */
async function consume(sfu: TestSfu, participantId: string, producers: ProducerInfo[]): Promise<void> {
  for (const producer of producers) await sfu.node.pool.get(0)!.request('consume', { participantId, producer });
}

describe('the media gateway inside the only worker', { timeout: 60_000 }, () => {
  test('auto and worker place it in the worker: no gateway thread, one NATS connection per node, media across nodes, counters in /stats', async () => {
    for (const sfu of [env.node1, env.node2]) {
      assert.ok(gatewayInWorker(sfu.node.config));
      assert.equal(sfu.node.pool.mediaGateway, undefined, 'no gateway thread');
      assert.ok(await env.nats.connection(`shoal-media-${sfu.node.config.nodeId}`), 'the worker connected to NATS under the gateway\'s name');
    }
    const { peer: alice, trackIds } = await env.peers1.publisher('w1', 'alice');
    const bob = await env.peers2.join('w1-bob', 'bob');
    await consume(env.node2, bob.participantId, await producersOf(env.node1, alice.participantId));
    for (const id of trackIds) await bob.waitForPackets(id, 100);

    const published = await env.node1.node.pool.fetchGatewayStats();
    const pulled = await env.node2.node.pool.fetchGatewayStats();
    assert.ok(published && published.rtpMessagesOut > 0 && published.tracksPublished === 2, `node 1 publishes: ${JSON.stringify(published)}`);
    assert.ok(pulled && pulled.rtpMessagesIn > 0 && pulled.tracksPulled === 2, `node 2 pulls: ${JSON.stringify(pulled)}`);
    await waitUntil(() => (env.node1.node.pool.gatewayStats?.rtpPacketsOut ?? 0) > 0, 3000, 'the worker\'s stats report carrying the gateway\'s');
    const stats = (await (await fetch(`${env.node1.httpUrl}/stats`)).json()) as { gateway: { rtpMessagesOut: number } | null };
    assert.ok(stats.gateway && stats.gateway.rtpMessagesOut > 0, '/stats shows the gateway');
    env.peers1.closeAll();
    env.peers2.closeAll();
  });

  test('a failed worker takes its gateway with it; the replacement reaches NATS again and media crosses nodes', async () => {
    const { peer: alice, trackIds } = await env.peers1.publisher('w2', 'alice');
    const failing = env.node2.node.pool.get(0)!;
    await failing.request('crash', {});
    await waitUntil(() => env.node2.node.pool.get(0) !== failing, 5000, 'a replacement worker');
    await env.node2.node.pool.get(0)!.ready;
    // Node 1 stops publishing once node 2's lease lapses (the crashed gateway could not release it).
    await waitUntil(() => env.node1.node.pool.gatewayStats?.tracksPublished === 0, 8000, 'node 1 to stop publishing');
    const carol = await env.peers2.join('w2-carol', 'carol');
    await consume(env.node2, carol.participantId, await producersOf(env.node1, alice.participantId));
    for (const id of trackIds) await carol.waitForPackets(id, 100);
    assert.equal((await env.node2.node.pool.fetchGatewayStats())?.connected, true);
  });
});
