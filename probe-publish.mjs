// Throwaway probe. Not to be committed.
import nodeDataChannel from 'node-datachannel';
import { MediaPeer } from './dist/bench/client/media-peer.js';
import { startSfu } from './dist/test/support/sfu.js';
const [encoding, waitChannels] = [process.argv[2], process.argv[3] === 'wait'];
const sfu = await startSfu();
try {
  const alice = await MediaPeer.join({ url: sfu.url, room: 'demo', identity: 'alice', encoding });
  if (waitChannels) await alice.waitForChannels();
  await alice.publish({ audio: true, video: 'VP8' });
  await alice.waitPublisherConnected(5000);
  console.log(encoding, waitChannels, 'OK');
  alice.close();
} catch (e) { console.log(encoding, waitChannels, 'FAIL', e.message); }
finally { await sfu.stop(); nodeDataChannel.cleanup(); }
