import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { callbackErrors } from '../../bench/client/media-peer.js';
import type { ServerEvent } from '../../bench/client/signaling-client.js';
import { mediaMid, parseSdp, writeSdp, type SdpMedia } from '../../media/sdp/sdp.js';
import { assertSameWorkers, Bystanders, publisherOfferSdp, workersOf } from '../support/hostile.js';
import { errorCode, packetsDuring, Peers, sleep } from '../support/peers.js';
import { startSfu, type TestSfu } from '../support/sfu.js';

/** How long the worker waited for libdatachannel's answer before the fix; its timer then crashed the worker. */
const OLD_ANSWER_TIMEOUT_MS = 5000;

let sfu: TestSfu;
/** Peers of one test (closed after it). */
let peers: Peers;
/** The bystanders live through the whole file, on the same (only) worker as every attacker. */
let bystanderPeers: Peers;
let bystanders: Bystanders;
let workersAtStart: readonly unknown[];

before(async () => {
  sfu = await startSfu({ workers: 1 });
  workersAtStart = workersOf(sfu);
  peers = new Peers(sfu.url);
  bystanderPeers = new Peers(sfu.url);
  bystanders = await Bystanders.join(bystanderPeers);
});
afterEach(() => {
  peers.closeAll();
  assertSameWorkers(sfu, workersAtStart);
});
after(async () => {
  peers.closeAll();
  bystanderPeers.closeAll();
  await sfu.stop();
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no test client callback threw');
});

/** `sdp` with the m-line of `mid` changed by `change`. */
function withMLine(sdp: string, mid: string, change: (media: SdpMedia) => void): string {
  const parsed = parseSdp(sdp);
  change(parsed.media.find((m) => mediaMid(m) === mid)!);
  return writeSdp(parsed);
}

function setDirection(media: SdpMedia, direction: string): void {
  media.lines = media.lines.map((line) => (/^a=(sendonly|sendrecv|recvonly|inactive)$/.test(line) ? `a=${direction}` : line));
}

/** `sdp` with one more video m-line, a copy of mid 1's with the lines `lines` makes, as `mid`. */
function addVideoMLine(sdp: string, mid: string, lines: (media: SdpMedia) => string[]): string {
  const parsed = parseSdp(sdp);
  const video = parsed.media.find((m) => mediaMid(m) === '1')!;
  const copy: SdpMedia = { ...video, lines: lines(video).filter((l) => !l.startsWith('a=ssrc')).map((l) => (l === 'a=mid:1' ? `a=mid:${mid}` : l)) };
  parsed.media.push(copy);
  parsed.session = parsed.session.map((l) => (l.startsWith('a=group:BUNDLE') ? `${l} ${mid}` : l));
  return writeSdp(parsed);
}

/** Offers libdatachannel refuses: each once crashed the worker ~5 s later. */
const REFUSED_OFFERS: Array<[string, (sdp: string) => string, RegExp]> = [
  ['a bad a=fingerprint', (sdp) => sdp.replace(/a=fingerprint:sha-256 \S+/, 'a=fingerprint:sha-256 ZZ:11'), /fingerprint/],
  ['an a=rtpmap without a codec', (sdp) => sdp.replace(/a=rtpmap:111 \S+/, 'a=rtpmap:111'), /rtpmap/],
  ['a bad candidate line', (sdp) => sdp.replace(/(a=mid:0\r\n)/, '$1a=candidate:garbage\r\n'), /candidate/],
];

describe('hostile clients and the media worker', { timeout: 60_000 }, () => {
  test('refused publisher offers (and an ICE restart) get INVALID_SDP; the worker, the attacker\'s connection and the bystanders carry on', async (t) => {
    bystanders.start();
    const mallory = await peers.join('refused-offers', 'mallory');
    const watcher = await peers.join('refused-offers', 'watcher');
    const base = await publisherOfferSdp();
    for (const [what, mangle, message] of REFUSED_OFFERS) {
      const reply = await mallory.signaling.request({ publishOffer: { sdp: mangle(base) } });
      assert.equal(errorCode(reply), 'INVALID_SDP', `first offer with ${what}: ${JSON.stringify(reply.error ?? reply.message)}`);
      assert.match((reply.error as { message: string }).message, message);
    }

    // The participant can still publish, and every refused renegotiation leaves that connection alone.
    const tracks = await mallory.publish({ audio: true, video: 'VP8' });
    await mallory.waitPublisherConnected();
    mallory.startMedia();
    for (const { trackId } of tracks) await watcher.waitForPackets(trackId, 10);
    const current = mallory.publisher!.localDescription()!.sdp;
    const renegotiations: Array<[string, (sdp: string) => string, RegExp]> = [
      ...REFUSED_OFFERS,
      [
        'new ICE credentials (an ICE restart)',
        (sdp) => sdp.replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:rstr').replace(/a=ice-pwd:\S+/g, 'a=ice-pwd:restartrestartrestart1234'),
        /ICE restart is not supported/,
      ],
    ];
    for (const [what, mangle, message] of renegotiations) {
      const reply = await mallory.signaling.request({ publishOffer: { sdp: mangle(current) } });
      assert.equal(errorCode(reply), 'INVALID_SDP', `renegotiation with ${what}: ${JSON.stringify(reply.error ?? reply.message)}`);
      assert.match((reply.error as { message: string }).message, message);
    }
    // Past the time the old answer timer fired.
    await sleep(OLD_ANSWER_TIMEOUT_MS + 1500);
    assertSameWorkers(sfu, workersAtStart);
    assert.ok((await packetsDuring(watcher, tracks.map((x) => x.trackId), 500)) > 0, 'the attacker\'s own connection still forwards');
    const again = await mallory.signaling.request({ publishOffer: { sdp: current } });
    assert.equal(again.message, 'publishAnswer', 'a valid renegotiation is still answered');
    const flow = bystanders.assertUndisturbed(1000);
    t.diagnostic(`bystander: ${flow.packetsPerSecond.toFixed(0)} packets/s, largest gap ${flow.maxGapMs.toFixed(0)} ms`);
  });

  test('an m-line that stops sending may send again; one that was rejected is refused at once, not after a timeout', async () => {
    const mallory = await peers.join('mid-reuse', 'mallory');
    const watcher = await peers.join('mid-reuse', 'watcher');
    const [audio, video] = await mallory.publish({ audio: true, video: 'VP8' });
    await mallory.waitPublisherConnected();
    mallory.startMedia();
    await watcher.waitForPackets(video!.trackId, 10);
    const current = mallory.publisher!.localDescription()!.sdp;
    const publish = async (sdp: string) => {
      const startedAt = performance.now();
      const reply = await mallory.signaling.request({ publishOffer: { sdp } });
      assert.ok(performance.now() - startedAt < 2000, `answered in ${(performance.now() - startedAt).toFixed(0)} ms`);
      return reply;
    };
    const published = (reply: ServerEvent) => (reply.publishAnswer as { tracks: Array<{ mid: string; trackId: string }> }).tracks;

    // Video stops (a browser's removeTrack), then the same m-line sends again (addTrack re-uses the transceiver).
    const stopped = await publish(withMLine(current, '1', (m) => setDirection(m, 'inactive')));
    assert.deepEqual(published(stopped), [audio]);
    await watcher.signaling.waitFor((e) => e.message === 'trackUnpublished' && (e.trackUnpublished as { trackId: string }).trackId === video!.trackId);
    const resumed = published(await publish(current));
    const again = resumed.find((x) => x.mid === '1');
    assert.ok(again && again.trackId !== video!.trackId, 'published again as a new track');
    await watcher.waitForPackets(again.trackId, 10);

    // An m-line with no codec this SFU forwards is rejected; sending on it later is refused at once.
    const unknownCodec = addVideoMLine(current, '2', (m) => m.lines.map((line) => line.replace('VP8/90000', 'FOO/90000')));
    assert.deepEqual(published(await publish(unknownCodec)).map((x) => x.mid), ['0', '1']);
    const revived = await publish(addVideoMLine(current, '2', (m) => m.lines));
    assert.equal(errorCode(revived), 'INVALID_SDP');
    assert.match((revived.error as { message: string }).message, /rejected earlier/);
    // And the connection takes further offers.
    assert.equal((await publish(current)).message, 'publishAnswer');
    assert.ok((await packetsDuring(watcher, [again.trackId], 500)) > 0);
  });
});
