import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { SfuProcess } from '../../bench/harness/sfu-process.js';
import { buildNack, buildPli } from '../../media/rtp/rtcp.js';
import { sequenceNumber, ssrc as ssrcOf } from '../../media/rtp/rtp-packet.js';
import { rtxOriginalSequenceNumber } from '../../media/rtp/rtx.js';
import { attribute } from '../../media/sdp/sdp.js';
import { errorCode, mediaSection, packetsDuring, plisFor, sleep, waitUntil, sfuForThisFile } from '../support/peers.js';

const env = sfuForThisFile({ workers: 2, roomWorkerCapacity: 2 });

function workerOf(participantId: string): number {
  for (const room of env.sfu.node.rooms.dump()) {
    const p = room.participants.find((x) => x.participantId === participantId);
    if (p) return p.workerId;
  }
  throw new Error(`participant ${participantId} not found`);
}

describe('media workers', { timeout: 90_000 }, () => {
  test('each worker thread loads its own binding; the main thread never does', async () => {
    // A node of its own (this test process loads node-datachannel for its clients): which copies of
    // the native addon does it map?
    const sfu = await SfuProcess.start(2);
    try {
      const mapped = new Set(
        readFileSync(`/proc/${sfu.pid}/maps`, 'utf8')
          .split('\n')
          .filter((line) => line.includes('node_datachannel.node'))
          .map((line) => line.slice(line.indexOf('/')).replace(/ \(deleted\)$/, '')),
      );
      assert.equal(mapped.size, 2, `one private copy per worker: ${[...mapped].join(', ')}`);
      for (const path of mapped) assert.match(path, /\/shoal-worker[01]-[^/]+\/node_datachannel\.node$/);
    } finally {
      await sfu.stop();
    }
  });

  test('a room spreads past the worker capacity and media crosses workers in-process', async () => {
    const { peer: alice, trackIds } = await env.peers.publisher('spread', 'alice');
    const bob = await env.peers.join('spread', 'bob');
    const carol = await env.peers.join('spread', 'carol');
    const dave = await env.peers.join('spread', 'dave');
    assert.equal(workerOf(alice.participantId), workerOf(bob.participantId), 'the room stays on one worker while it fits');
    assert.notEqual(workerOf(carol.participantId), workerOf(alice.participantId), 'then spreads');
    assert.equal(workerOf(dave.participantId), workerOf(carol.participantId));
    for (const peer of [bob, carol, dave]) for (const id of trackIds) await peer.waitForPackets(id, 50);

    // Keyframe requests cross back to the publisher's worker.
    const ssrc = alice.published.get('video')!.source.ssrc;
    const plis = () => plisFor(alice.publisherRtcp('video'), ssrc);
    await sleep(700);
    const before = plis();
    const video = carol.receivedTrack(trackIds[1]!)!;
    carol.sendSubscriberRtcp(trackIds[1]!, buildPli(7, [...video.ssrcs][0]!));
    await waitUntil(() => plis() > before, 3000, 'PLI from the other worker');

    // NACKs are answered on the subscriber's worker from its copy of the stream.
    video.keepPackets = true;
    await waitUntil(() => video.rtp.length >= 10, 3000, 'packets');
    const seq = sequenceNumber(video.rtp[3]!);
    const count = video.rtp.length;
    carol.sendSubscriberRtcp(trackIds[1]!, buildNack(7, [...video.ssrcs][0]!, [seq]));
    const offer = mediaSection((carol.subscriberOffers.at(-1)!.subscriberOffer as { sdp: string }).sdp, video.mid)!;
    const rtxSsrc = Number(attribute(offer.lines, 'ssrc-group')!.split(' ')[2]);
    await waitUntil(
      () => video.rtp.slice(count).some((p) => ssrcOf(p) === rtxSsrc && rtxOriginalSequenceNumber(p) === seq),
      3000,
      'an RTX retransmission',
    );
  });

  test('a failed worker is replaced; its participants are told and can rejoin; others keep receiving', async () => {
    // Two rooms land on different workers (new rooms go to the least loaded one).
    const a = await env.peers.publisher('crash-a', 'alice');
    const bob = await env.peers.join('crash-a', 'bob');
    const c = await env.peers.publisher('crash-b', 'carol');
    const dave = await env.peers.join('crash-b', 'dave');
    const failing = workerOf(a.peer.participantId);
    assert.notEqual(workerOf(c.peer.participantId), failing);
    for (const id of a.trackIds) await bob.waitForPackets(id, 20);
    for (const id of c.trackIds) await dave.waitForPackets(id, 20);
    const daveVideo = dave.receivedTrack(c.trackIds[1]!)!;
    const gapBefore = daveVideo.maxGapMs;

    const aliceError = a.peer.signaling.waitFor((e) => e.message === 'error');
    const bobError = bob.signaling.waitFor((e) => e.message === 'error');
    const oldHandle = env.sfu.node.pool.get(failing)!;
    await oldHandle.request('crash', {});
    assert.equal(errorCode(await aliceError), 'WORKER_FAILED');
    assert.equal(errorCode(await bobError), 'WORKER_FAILED');

    // The other room never noticed.
    assert.ok((await packetsDuring(dave, c.trackIds, 1500)) > 100);
    assert.ok(daveVideo.maxGapMs < Math.max(gapBefore, 200), `largest gap at dave ${daveVideo.maxGapMs.toFixed(0)} ms`);

    // The slot has a fresh worker, and the failed participants join again on the same sockets.
    await waitUntil(() => env.sfu.node.pool.get(failing) !== oldHandle && env.sfu.node.pool.get(failing)!.alive, 5000, 'a replacement worker');
    await env.sfu.node.pool.get(failing)!.ready;
    const rejoined = await a.peer.signaling.request({ join: { room: 'crash-a', identity: 'alice' } });
    assert.equal(rejoined.message, 'joined');
    const alice2 = await env.peers.publisher('crash-a', 'alice2');
    const bob2 = await env.peers.join('crash-a', 'bob2');
    for (const id of alice2.trackIds) await bob2.waitForPackets(id, 20);
  });
});
