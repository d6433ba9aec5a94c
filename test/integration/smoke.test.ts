import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { MediaPeer } from '../../bench/client/media-peer.js';
import { startSfu } from '../support/sfu.js';

const sfu = await startSfu();
after(async () => {
  await sfu.stop();
  nodeDataChannel.cleanup();
});

test('a subscriber receives a publisher', async () => {
  const alice = await MediaPeer.join({ url: sfu.url, room: 'r1', identity: 'alice' });
  const bob = await MediaPeer.join({ url: sfu.url, room: 'r1', identity: 'bob' });
  const tracks = await alice.publish({ audio: true, video: 'VP8' });
  assert.equal(tracks.length, 2);
  await alice.waitPublisherConnected();
  alice.startMedia();
  for (const t of tracks) await bob.waitForPackets(t.trackId, 20);
  alice.close();
  bob.close();
});
