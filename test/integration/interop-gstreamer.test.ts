import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { latestTrackId, sfuForThisFile } from '../support/peers.js';
import { runInteropClient } from '../support/interop-clients.js';

const env = sfuForThisFile({ workers: 1 });

/** Track ids announced to `peer` with trackPublished, with their kind. */
function announced(events: Array<{ message: string; trackPublished?: unknown }>): Array<{ trackId: string; kind: string }> {
  return events.filter((e) => e.message === 'trackPublished').map((e) => (e.trackPublished as { track: { trackId: string; kind: string } }).track);
}

describe('GStreamer webrtcbin', { timeout: 60_000 }, () => {
  test('publishes with WHIP (max-bundle: its audio m-line is bundle-only); a node-datachannel subscriber receives both tracks', async () => {
    const bob = await env.peers.join('gst-whip', 'bob');
    const gst = runInteropClient('gst-whip', env.sfu.httpUrl, 'gst-whip', 'MAX_BUNDLE', 12);
    try {
      const answer = await gst.waitFor((e) => e.event === 'answer', 'the WHIP answer');
      assert.equal(answer.status, 201);
      assert.ok((answer.bundleOnly as number) >= 1, 'the offer has a bundle-only m-line');
      await bob.signaling.waitFor(() => announced(bob.signaling.received).length === 2, 15_000, 'trackPublished for both tracks');
      const tracks = announced(bob.signaling.received);
      assert.deepEqual(tracks.map((t) => t.kind).sort(), ['AUDIO', 'VIDEO']);
      for (const { trackId } of tracks) await bob.waitForPackets(latestTrackId(trackId), 50, 20_000);
    } finally {
      gst.stop();
    }
  });
});
