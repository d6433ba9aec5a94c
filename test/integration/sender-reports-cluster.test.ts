import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { checkSubscriberReports, type ClockedMedia, KINDS, publishClocked, receivedSenderReports, receiving } from '../support/clocked-media.js';
import { waitUntil } from '../support/peers.js';
import { shoalClusterForThisFile } from '../support/shoal-cluster.js';

// Two Shoal processes on a real 3-server NATS cluster: the publisher on n1, the subscriber on n2.
const env = shoalClusterForThisFile(2);
const running: ClockedMedia[] = [];
afterEach(() => {
  for (const media of running.splice(0)) media.stop();
});

describe('sender reports across nodes', { timeout: 120_000 }, () => {
  test("a subscriber on another node gets SRs in its own SSRC and RTP space, with the publisher's NTP times", async () => {
    const { media, trackIds } = await publishClocked(await env.cluster.join(0, 'sr-nodes', 'alice'));
    running.push(media);
    const bob = await env.cluster.join(1, 'sr-nodes', 'bob');
    const tracks = await receiving(bob, trackIds);
    for (const track of tracks) await waitUntil(() => receivedSenderReports(track).length >= 3, 20_000, `3 SRs on bob's ${track.mid}`);
    KINDS.forEach((kind, i) => checkSubscriberReports(tracks[i]!, media, kind, 'bob (node n2)'));
    assert.ok(tracks.every((track) => receivedSenderReports(track).length >= 3));
  });
});
