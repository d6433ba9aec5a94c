import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sfuForThisFile, waitUntil } from '../support/peers.js';
import { resultOf, runInteropClient } from '../support/interop-clients.js';

const env = sfuForThisFile({ workers: 1 });

describe('aiortc (Debian python3-aiortc) over the WebSocket signaling', { timeout: 60_000 }, () => {
  test('a late-joining aiortc subscriber decodes frames of a GStreamer webrtcbin publisher (its first offer carries the tracks)', async (t) => {
    const gst = runInteropClient('gst-whip', env.sfu.httpUrl, 'aiortc-sub', 'MAX_BUNDLE', 25);
    try {
      await gst.waitFor((e) => e.event === 'answer', 'the WHIP answer');
      const bob = await env.peers.join('aiortc-sub', 'bob');
      await waitUntil(() => bob.received.size === 2, 15_000, 'the publisher\'s two tracks at bob');
      const aiortc = runInteropClient('aiortc-subscribe', env.sfu.url, 'aiortc-sub', 'carol', 10);
      const result = resultOf(await aiortc.done);
      const frames = result.frames as { audio: number; video: number };
      const offers = result.offers as string[][];
      t.diagnostic(`aiortc decoded in 10 s: ${JSON.stringify(frames)}; offers ${JSON.stringify(offers)}`);
      assert.equal(offers[0]?.length, 2, `the first offer names both tracks: ${JSON.stringify(offers)}`);
      assert.ok(frames.video >= 30 && frames.audio >= 50, `aiortc decoded ${JSON.stringify(frames)}`);
    } finally {
      gst.stop();
    }
  });

  test('aiortc publishes; GStreamer webrtcbin decodes it with WHEP, a node-datachannel subscriber receives it', async (t) => {
    const bob = await env.peers.join('aiortc-pub', 'bob');
    const aiortc = runInteropClient('aiortc-publish', env.sfu.url, 'aiortc-pub', 'alice', 20);
    try {
      const published = await aiortc.waitFor((e) => e.event === 'published', 'publishAnswer');
      const tracks = published.tracks as Array<{ trackId: string }>;
      assert.equal(tracks.length, 2);
      for (const { trackId } of tracks) await bob.waitForPackets(trackId, 30, 20_000);
      const viewer = runInteropClient('gst-whep', env.sfu.httpUrl, 'aiortc-pub', '-', 8);
      const result = resultOf(await viewer.done);
      const frames = result.frames as { audio: number; video: number };
      t.diagnostic(`GStreamer decoded in 8 s: ${JSON.stringify(frames)}`);
      assert.ok(frames.video >= 20 && frames.audio >= 50, `GStreamer decoded ${JSON.stringify(frames)} (${JSON.stringify(result)})`);
    } finally {
      aiortc.stop();
    }
  });
});
