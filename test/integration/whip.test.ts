import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { ServerEvent } from '../../bench/client/signaling-client.js';
import { sfuForThisFile, waitUntil } from '../support/peers.js';
import { WhepViewer, WhipPublisher, type WhipClientOptions } from '../support/whip-clients.js';

const env = sfuForThisFile();
const clients: Array<WhipPublisher | WhepViewer> = [];
afterEach(async () => {
  // As a client would: end the session (it counts against --max-connections until it ends), then close.
  await Promise.all(clients.map((client) => (client.location ? client.delete().catch(() => 0) : 0)));
  for (const client of clients.splice(0)) client.close();
});

async function publish(room: string, options: WhipClientOptions & { identity?: string } = {}): Promise<WhipPublisher> {
  const query = options.identity ? `?identity=${options.identity}` : '';
  const client = await WhipPublisher.publish(`${env.sfu.httpUrl}/whip/${room}${query}`, options);
  clients.push(client);
  assert.equal(client.response?.status, 201, client.response?.body);
  return client;
}

async function view(room: string, options: WhipClientOptions & { identity?: string } = {}): Promise<WhepViewer> {
  const query = options.identity ? `?identity=${options.identity}` : '';
  const client = await WhepViewer.view(`${env.sfu.httpUrl}/whep/${room}${query}`, options);
  clients.push(client);
  assert.equal(client.response?.status, 201, client.response?.body);
  return client;
}

function participants(room: string) {
  return env.sfu.node.rooms.dump().find((r) => r.name === room)?.participants ?? [];
}

const named = (events: ServerEvent[], type: string) => events.filter((e) => e.message === type);

describe('WHIP and WHEP', { timeout: 90_000 }, () => {
  test('WHIP: 201 with the answer and the server candidates in it, Location, ETag; WebSocket clients see it join, publish and leave and get its media; DELETE ends it', async () => {
    const watcher = await env.peers.join('whip-1', 'watcher');
    const whip = await publish('whip-1', { trickle: true });
    const { headers, body } = whip.response!;
    assert.equal(headers.get('content-type'), 'application/sdp');
    assert.match(headers.get('location') ?? '', /^\/whip\/whip-1\/[0-9a-f]{32}$/, 'an unguessable session URL (128 random bits)');
    assert.match(headers.get('etag') ?? '', /^"[^"]+"$/, 'a strong entity-tag');
    assert.equal(headers.get('accept-patch'), 'application/trickle-ice-sdpfrag');
    assert.match(body, /^a=candidate:.* 127\.0\.0\.1 \d+ typ host/m, 'the answer carries the server candidates: no trickle back');
    assert.ok(whip.trickled, 'the client trickled its candidates with a PATCH (204)');
    await whip.waitConnected();
    await whip.startMedia();

    const published = await waitForEvents(watcher.signaling.received, 'trackPublished', 2);
    const joined = named(watcher.signaling.received, 'participantJoined')[0]?.participantJoined as { participant: { identity: string; participantId: string } };
    assert.match(joined.participant.identity, /^whip-[0-9a-f]{8}$/, 'without ?identity= nor a token, a generated identity');
    const trackIds = published.map((e) => (e.trackPublished as { track: { trackId: string } }).track.trackId);
    for (const trackId of trackIds) await watcher.waitForPackets(trackId, 20);

    assert.equal(await whip.delete(), 200);
    await waitForEvents(watcher.signaling.received, 'trackUnpublished', 2);
    await waitForEvents(watcher.signaling.received, 'participantLeft', 1);
    assert.deepEqual(participants('whip-1').map((p) => p.identity), ['watcher']);
    assert.equal((await fetch(whip.location)).status, 404, 'the session is gone');
    assert.equal(await whip.delete(), 404);
  });

  test('WHIP ?identity= names the publisher; a second session with it replaces the first', async () => {
    const first = await publish('whip-2', { identity: 'obs' });
    await first.waitConnected();
    const second = await publish('whip-2', { identity: 'obs' });
    await second.waitConnected();
    assert.deepEqual(participants('whip-2').map((p) => [p.identity, p.published.length]), [['obs', 2]]);
    assert.equal((await fetch(first.location)).status, 404, 'the replaced session ended');
    assert.equal((await fetch(second.location)).status, 204);
  });

  test('WHEP viewers receive WebSocket publishers', async () => {
    const { trackIds } = await env.peers.publisher('whep-1', 'alice');
    const viewer = await view('whep-1');
    assert.match(viewer.response!.body, /^a=candidate:.* 127\.0\.0\.1 \d+ typ host/m);
    assert.match(viewer.response!.body, /^a=sendonly$/m);
    await viewer.waitForPackets('video', 60);
    await viewer.waitForPackets('audio', 30);
    const whep = participants('whep-1').find((p) => p.identity.startsWith('whep-'));
    assert.equal(whep?.subscribed, trackIds.length, 'the viewer consumes the room\'s tracks');
    assert.equal(whep?.published.length, 0);
    assert.equal((await fetch(viewer.location)).status, 204, 'GET on a session: 2xx with no content (RFC 9725 section 4.1)');
    assert.equal(await viewer.delete(), 200);
    assert.deepEqual(participants('whep-1').map((p) => p.identity), ['alice']);
  });

  test('a WHEP viewer keeps playing, on the same SSRC with continuous sequence numbers, when its publisher leaves and another starts', async () => {
    const first = await publish('whep-2', { identity: 'first' });
    await first.startMedia();
    const viewer = await view('whep-2');
    const video = await viewer.waitForPackets('video', 60);
    await viewer.waitForPackets('audio', 30);
    assert.equal(await first.delete(), 200);
    await waitUntil(() => !participants('whep-2').some((p) => p.identity === 'first'), 5000, 'the first publisher gone');
    const before = { video: video.packets, audio: viewer.received.get('audio')!.packets };

    // The next publisher is a WebSocket client: the viewer's request is not repeated.
    await env.peers.publisher('whep-2', 'second');
    await viewer.waitForPackets('video', before.video + 60, 15_000);
    await viewer.waitForPackets('audio', before.audio + 30, 15_000);
    assert.equal(video.ssrcs.size, 1, 'one SSRC across both publishers');
    assert.equal(video.payloadTypes.size, 1);
    assert.ok(video.seqJumps <= 3, `sequence numbers carry on across the switch (${video.seqJumps} jumps)`);
    assert.equal(viewer.pc.state(), 'connected');
  });

  test('WHEP ?identity= watches one publisher only', async () => {
    await publish('whep-3', { identity: 'alice' });
    const bob = await publish('whep-3', { identity: 'bob' });
    await bob.startMedia();
    const viewer = await view('whep-3', { identity: 'bob' });
    // Only bob sends media: whatever the viewer receives is bob's.
    await viewer.waitForPackets('video', 60);
    await viewer.waitForPackets('audio', 30);
    const whep = participants('whep-3').find((p) => p.identity.startsWith('whep-'));
    assert.equal(whep?.subscribed, 2, 'bob\'s two tracks, not alice\'s');
  });

  for (const candidates of [true, false]) {
    test(`clients that never trickle connect (${candidates ? 'candidates in the offer' : 'no candidates at all: found from their checks'})`, async () => {
      const room = `no-trickle-${candidates}`;
      const whip = await publish(room, { trickle: false, candidates });
      await whip.startMedia();
      const viewer = await view(room, { trickle: false, candidates });
      await viewer.waitForPackets('video', 60);
      assert.ok(!whip.trickled && !viewer.trickled, 'no PATCH was sent');
    });
  }
});

async function waitForEvents(events: ServerEvent[], type: string, count: number): Promise<ServerEvent[]> {
  await waitUntil(() => named(events, type).length >= count, 10_000, `${count} ${type}`);
  return named(events, type);
}
