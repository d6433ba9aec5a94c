// Throwaway: records a real JSON-mode session for docs/signaling.md. Not to be committed.
import nodeDataChannel from 'node-datachannel';
import { writeFileSync } from 'node:fs';
import { MediaPeer } from './dist/bench/client/media-peer.js';
import { SignalingClient } from './dist/bench/client/signaling-client.js';
import { startSfu } from './dist/test/support/sfu.js';

const t0 = performance.now();
const log = [];
const stamp = () => Math.round(performance.now() - t0);
let connecting = '';
const originalConnect = SignalingClient.connect;
SignalingClient.connect = async function (url, encoding) {
  const who = connecting;
  const client = await originalConnect.call(this, url, encoding);
  const ws = client.ws;
  const send = ws.send.bind(ws);
  ws.send = (data, ...rest) => {
    log.push({ t: stamp(), who, dir: 'send', frame: String(data) });
    return send(data, ...rest);
  };
  ws.on('message', (data, isBinary) => log.push({ t: stamp(), who, dir: 'recv', binary: isBinary, frame: data.toString('utf8') }));
  ws.on('close', (code, reason) => log.push({ t: stamp(), who, dir: 'close', frame: `${code} ${reason}` }));
  return client;
};
function watchChannels(peer, who) {
  const push = peer.dataReceived.push.bind(peer.dataReceived);
  peer.dataReceived.push = (item) => {
    log.push({ t: stamp(), who, dir: 'dc-recv', channel: item.channel, frame: typeof item.message === 'string' ? item.message : `<binary ${item.message.toString('hex')}>` });
    return push(item);
  };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(20);
  }
}

const sfu = await startSfu();
log.push({ t: stamp(), who: '-', dir: 'note', frame: `server at ${sfu.url}` });
try {
  connecting = 'alice';
  const alice = await MediaPeer.join({ url: sfu.url, room: 'demo', identity: 'alice', encoding: 'json' });
  watchChannels(alice, 'alice');
  await alice.waitForChannels();
  log.push({ t: stamp(), who: 'alice', dir: 'note', frame: 'data channels open' });
  const tracks = await alice.publish({ audio: true, video: 'VP8' });
  await alice.waitPublisherConnected();
  alice.startMedia();
  log.push({ t: stamp(), who: 'alice', dir: 'note', frame: 'publisher connected, sending media' });

  connecting = 'bob';
  const bob = await MediaPeer.join({ url: sfu.url, room: 'demo', identity: 'bob', encoding: 'json' });
  watchChannels(bob, 'bob');
  await bob.waitForChannels();
  for (const { trackId } of tracks) await bob.waitForPackets(trackId, 20);
  log.push({ t: stamp(), who: 'bob', dir: 'note', frame: `data channels open; receiving ${tracks.map((t) => `${t.trackId}: ${bob.received.get(t.trackId).packets} packets`).join(', ')}` });
  await sleep(300);

  const dcText = JSON.stringify({ text: 'hello from bob' });
  log.push({ t: stamp(), who: 'bob', dir: 'dc-send', channel: 'reliable', frame: dcText });
  bob.sendOnChannel('reliable', dcText);
  await until(() => alice.dataReceived.length === 1, 'alice dc message');
  bob.signaling.send({ data: { text: 'over the WebSocket, unreliable', toIdentities: ['alice'], unreliable: true } });
  await until(() => alice.dataReceived.length === 2, 'alice second dc message');
  await sleep(300);

  const offersBefore = bob.subscriberOffers.length;
  const left = await alice.leave();
  if (left.message !== 'left') throw new Error('no left');
  await until(() => bob.subscriberOffers.length > offersBefore, 'bob renegotiation');
  await sleep(1000);
  alice.close();
  bob.close();
  await sleep(300);
} finally {
  await sfu.stop();
  nodeDataChannel.cleanup();
  for (const e of log) console.log(`${String(e.t).padStart(5)} ${e.who.padEnd(5)} ${e.dir}${e.channel ? `(${e.channel})` : ''} ${e.frame}`);
}
writeFileSync('/tmp/session-log.json', JSON.stringify(log, null, 1));
