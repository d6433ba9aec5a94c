import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { connectionStats, joinWithDemoPage, chromiumForThisFile, openPage, sleep, type StatsEntry } from '../support/chromium.js';

const env = chromiumForThisFile();

interface ReceivedTrackStats {
  identity: string;
  kind: string;
  framesDecoded: number;
  packetsReceived: number;
  totalSamplesReceived: number;
  frameWidth: number;
}

/** The late joiner's inbound-rtp stats, per remote track, labelled with the publisher's identity. */
async function receivedStats(page: Page): Promise<Map<string, ReceivedTrackStats>> {
  const tracks = await page.evaluate(() =>
    [...(window.shoalDemo.client?.remoteTracks.values() ?? [])].map(({ trackId, mid, identity, kind }) => ({ trackId, mid, identity, kind })),
  );
  const stats = await connectionStats(page, 'subscriberPc');
  const result = new Map<string, ReceivedTrackStats>();
  for (const track of tracks) {
    const inbound = stats.find((s: StatsEntry) => s.type === 'inbound-rtp' && s.mid === track.mid);
    result.set(`${track.identity}/${track.kind}`, {
      identity: track.identity,
      kind: track.kind,
      framesDecoded: Number(inbound?.framesDecoded ?? 0),
      packetsReceived: Number(inbound?.packetsReceived ?? 0),
      totalSamplesReceived: Number(inbound?.totalSamplesReceived ?? 0),
      frameWidth: Number(inbound?.frameWidth ?? 0),
    });
  }
  return result;
}

test('a late joiner sees and hears two Chromium publishers', { timeout: 50_000 }, async (t) => {
  const room = 'meeting';
  const alice = await openPage(env.browser, env.sfu.httpUrl);
  const bob = await openPage(env.browser, env.sfu.httpUrl);
  await joinWithDemoPage(alice.page, room, 'alice');
  await joinWithDemoPage(bob.page, room, 'bob');
  await sleep(1000);

  const carol = await openPage(env.browser, env.sfu.httpUrl);
  await joinWithDemoPage(carol.page, room, 'carol');
  const expected = ['alice/audio', 'alice/video', 'bob/audio', 'bob/video'];
  await carol.page.waitForFunction(
    (n) => (window.shoalDemo.client?.remoteTracks.size ?? 0) >= n,
    expected.length,
    { timeout: 10_000 },
  );

  // Wait for media to flow on all four tracks, then measure progress over a few seconds.
  const deadline = Date.now() + 10_000;
  let first = await receivedStats(carol.page);
  while (Date.now() < deadline && !expected.every((key) => (first.get(key)?.packetsReceived ?? 0) > 0 && (key.endsWith('audio') || (first.get(key)?.framesDecoded ?? 0) > 0))) {
    await sleep(250);
    first = await receivedStats(carol.page);
  }
  assert.deepEqual([...first.keys()].sort(), expected, `carol receives ${[...first.keys()]}; problems: ${carol.problems}`);
  const samples = [first];
  for (let i = 0; i < 4; i++) {
    await sleep(1000);
    samples.push(await receivedStats(carol.page));
  }
  for (const key of expected) {
    const series = samples.map((s) => s.get(key)!);
    const counter = key.endsWith('video') ? 'framesDecoded' : 'packetsReceived';
    t.diagnostic(`${key}: ${counter} ${series.map((s) => s[counter]).join(' → ')}` +
      (key.endsWith('video') ? ` (frame width ${series.at(-1)!.frameWidth})` : ` (totalSamplesReceived ${series.at(-1)!.totalSamplesReceived})`));
    for (let i = 1; i < series.length; i++) {
      assert.ok(series[i]![counter] > series[i - 1]![counter], `${key}: ${counter} stalled between samples ${i - 1} and ${i}: ${series.map((s) => s[counter])}`);
    }
  }
  for (const who of ['alice', 'bob']) {
    const video = samples.at(-1)!.get(`${who}/video`)!;
    assert.ok(video.framesDecoded - samples[0]!.get(`${who}/video`)!.framesDecoded >= 20, `${who}'s video decodes at least 5 fps`);
    const audio = samples.at(-1)!.get(`${who}/audio`)!;
    assert.ok(audio.totalSamplesReceived > samples[0]!.get(`${who}/audio`)!.totalSamplesReceived, `${who}'s audio is played out`);
  }

  // The demo grid shows both publishers with playing video (and the self view).
  const tiles = await carol.page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.tile:not(.local)')].map((tile) => ({
      label: tile.querySelector('figcaption')?.textContent,
      width: tile.querySelector('video')?.videoWidth ?? 0,
    })),
  );
  assert.deepEqual(tiles.map((tile) => tile.label).sort(), ['alice', 'bob']);
  assert.ok(tiles.every((tile) => tile.width > 0), `remote videos render: ${JSON.stringify(tiles)}`);

  // Room data: carol's text reaches alice and bob over the data channel.
  for (const { page } of [alice, bob]) {
    await page.evaluate(() => {
      const w = window as unknown as { received: unknown[] };
      w.received = [];
      window.shoalDemo.client!.on('data', (data) => w.received.push(data));
    });
  }
  const carolId = await carol.page.evaluate(() => window.shoalDemo.client!.participantId);
  const via = await carol.page.evaluate(() => [
    window.shoalDemo.client!.sendData('hello from carol'),
    window.shoalDemo.client!.sendData('unreliable hello', { unreliable: true }),
  ]);
  assert.deepEqual(via, ['datachannel', 'datachannel']);
  for (const { page } of [alice, bob]) {
    await page.waitForFunction(() => (window as unknown as { received: unknown[] }).received.length >= 2, undefined, { timeout: 5000 });
    const received = await page.evaluate(() => (window as unknown as { received: Array<{ text: string }> }).received);
    assert.deepEqual(received.sort((a, b) => a.text.localeCompare(b.text)), [
      { fromParticipantId: carolId, fromIdentity: 'carol', text: 'hello from carol', unreliable: false, via: 'datachannel' },
      { fromParticipantId: carolId, fromIdentity: 'carol', text: 'unreliable hello', unreliable: true, via: 'datachannel' },
    ]);
  }

  // Leaving renegotiates the others' subscriber connections: alice's tracks and tile go.
  await alice.page.click('#leave');
  await carol.page.waitForFunction(
    () => window.shoalDemo.client!.remoteTracks.size === 2 && document.querySelectorAll('.tile:not(.local)').length === 1,
    undefined,
    { timeout: 5000 },
  );
  const left = await carol.page.evaluate(() => [...window.shoalDemo.client!.remoteTracks.values()].map((track) => track.identity));
  assert.deepEqual(left, ['bob', 'bob']);
  assert.deepEqual([...alice.problems, ...bob.problems, ...carol.problems], []);
});
