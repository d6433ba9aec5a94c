import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { callbackErrors } from '../../bench/client/media-peer.js';
import { NatsServer } from '../../bench/harness/nats-server.js';
import { DEFAULT_CLUSTER, type ClusterConfig } from '../../control/config.js';
import { Peers } from './peers.js';
import { startSfu, type SfuOverrides, type TestSfu } from './sfu.js';

export interface TwoNodes {
  nats: NatsServer;
  node1: TestSfu;
  node2: TestSfu;
  peers1: Peers;
  peers2: Peers;
}

/**
 * Two in-process nodes joined through one real nats-server, for the tests of
 * this file: started before them, stopped after them (clients closed only
 * once the nodes have stopped). `overrides` gives each node's options from
 * the cluster they share.
 */
export function twoNodesForThisFile(overrides: (cluster: ClusterConfig) => [SfuOverrides, SfuOverrides]): TwoNodes {
  const env = {} as TwoNodes;
  before(async () => {
    env.nats = await NatsServer.start();
    const [first, second] = overrides({ ...DEFAULT_CLUSTER, servers: [env.nats.url] });
    env.node1 = await startSfu(first);
    env.node2 = await startSfu(second);
    env.peers1 = new Peers(env.node1.url);
    env.peers2 = new Peers(env.node2.url);
  });
  after(async () => {
    await env.node1?.stop();
    await env.node2?.stop();
    env.peers1?.closeAll();
    env.peers2?.closeAll();
    await env.nats?.close();
    nodeDataChannel.cleanup();
    assert.deepEqual(callbackErrors, [], 'no client callback threw');
  });
  return env;
}
