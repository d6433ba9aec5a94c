/**
 * `--media-gateway worker` (the default with one worker): the node's media
 * gateway runs inside its only media worker. Two in-process nodes of one
 * worker each on one real nats-server: media crosses between them, the
 * gateway's counters reach /stats, and a worker that fails takes its gateway
 * with it; the replacement connects again and carries media across nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { callbackErrors } from '../../bench/client/media-peer.js';
import { DEFAULT_CLUSTER, gatewayInWorker } from '../../control/config.js';
import { NatsServer } from '../../bench/harness/nats-server.js';
import type { ProducerInfo } from '../../media/worker/protocol.js';
import { Peers, waitUntil } from '../support/peers.js';
import { startSfu, type TestSfu } from '../support/sfu.js';

let nats: NatsServer;
let node1: TestSfu;
let node2: TestSfu;
let peers1: Peers;
let peers2: Peers;

before(async () => {
  nats = await NatsServer.start();
  const cluster = { ...DEFAULT_CLUSTER, servers: [nats.url] };
  node1 = await startSfu({ nodeId: 'solo-1', workers: 1, cluster });
  node2 = await startSfu({ nodeId: 'solo-2', workers: 1, cluster: { ...cluster, mediaGateway: 'worker' } });
  peers1 = new Peers(node1.url);
  peers2 = new Peers(node2.url);
});

after(async () => {
  await node1?.stop();
  await node2?.stop();
  peers1?.closeAll();
  peers2?.closeAll();
  await nats?.close();
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no client callback threw');
});

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
    for (const sfu of [node1, node2]) {
      assert.ok(gatewayInWorker(sfu.node.config));
      assert.equal(sfu.node.pool.mediaGateway, undefined, 'no gateway thread');
      assert.ok(await nats.connection(`shoal-media-${sfu.node.config.nodeId}`), 'the worker connected to NATS under the gateway\'s name');
    }
    const { peer: alice, trackIds } = await peers1.publisher('w1', 'alice');
    const bob = await peers2.join('w1-bob', 'bob');
    await consume(node2, bob.participantId, await producersOf(node1, alice.participantId));
    for (const id of trackIds) await bob.waitForPackets(id, 100);

    const published = await node1.node.pool.fetchGatewayStats();
    const pulled = await node2.node.pool.fetchGatewayStats();
    assert.ok(published && published.rtpMessagesOut > 0 && published.tracksPublished === 2, `node 1 publishes: ${JSON.stringify(published)}`);
    assert.ok(pulled && pulled.rtpMessagesIn > 0 && pulled.tracksPulled === 2, `node 2 pulls: ${JSON.stringify(pulled)}`);
    await waitUntil(() => (node1.node.pool.gatewayStats?.rtpPacketsOut ?? 0) > 0, 3000, 'the worker\'s stats report carrying the gateway\'s');
    const stats = (await (await fetch(`${node1.httpUrl}/stats`)).json()) as { gateway: { rtpMessagesOut: number } | null };
    assert.ok(stats.gateway && stats.gateway.rtpMessagesOut > 0, '/stats shows the gateway');
    peers1.closeAll();
    peers2.closeAll();
  });

  test('a failed worker takes its gateway with it; the replacement reaches NATS again and media crosses nodes', async () => {
    const { peer: alice, trackIds } = await peers1.publisher('w2', 'alice');
    const failing = node2.node.pool.get(0)!;
    await failing.request('crash', {});
    await waitUntil(() => node2.node.pool.get(0) !== failing, 5000, 'a replacement worker');
    await node2.node.pool.get(0)!.ready;
    // Node 1 stops publishing once node 2's lease lapses (the crashed gateway could not release it).
    await waitUntil(() => node1.node.pool.gatewayStats?.tracksPublished === 0, 8000, 'node 1 to stop publishing');
    const carol = await peers2.join('w2-carol', 'carol');
    await consume(node2, carol.participantId, await producersOf(node1, alice.participantId));
    for (const id of trackIds) await carol.waitForPackets(id, 100);
    assert.equal((await node2.node.pool.fetchGatewayStats())?.connected, true);
  });
});
