/**
 * A worker's ICE UDP mux port stays bound from the worker's start to its
 * stop, whether or not it has connections (media/transport/udp-mux-holder.ts):
 * libjuice would otherwise close the socket with the last connection, and a
 * connection made at that moment could fail to bind it again, which aborts
 * the process.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { udpBindError } from '../../media/transport/udp-port-check.js';
import { wrongFingerprint } from '../support/hostile.js';
import { sfuForThisFile, waitUntil } from '../support/peers.js';

const env = sfuForThisFile({ workers: 1 });

describe('the worker\'s UDP mux port', { timeout: 60_000 }, () => {
  test('is bound from the start, while connections come and go, and after the last one left', async () => {
    const port = env.sfu.node.config.udpPort;
    const worker = env.sfu.node.pool.get(0)!;
    assert.equal(await udpBindError('127.0.0.1', port), 'EADDRINUSE', 'bound before any connection');
    const { trackIds } = await env.peers.publisher('mux-1', 'alice');
    const bob = await env.peers.join('mux-1', 'bob');
    for (const id of trackIds) await bob.waitForPackets(id, 20);
    env.peers.closeAll();
    // The worker reports its stats every second; the holder's data channel is its one native handle left.
    await waitUntil(() => worker.stats?.participants === 0 && worker.stats.nativeHandlesHeld <= 1, 10_000, 'every connection closed');
    assert.equal(await udpBindError('127.0.0.1', port), 'EADDRINUSE', 'still bound with no connection left');
  });

  test('the worker\'s only connection failing again and again is replaced each time; the node serves on', async () => {
    for (let round = 0; round < 5; round++) {
      const mallory = await env.peers.join(`mux-2-${round}`, 'mallory', { transformAnswer: wrongFingerprint });
      await waitUntil(() => mallory.subscriberOffers.filter((o) => (o.subscriberOffer as { restart: boolean }).restart).length === 3, 15_000, 'three restarts');
      env.peers.closeAll();
    }
    const { trackIds } = await env.peers.publisher('mux-3', 'alice');
    const bob = await env.peers.join('mux-3', 'bob');
    for (const id of trackIds) await bob.waitForPackets(id, 20);
  });
});
