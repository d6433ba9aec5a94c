import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { connectionStats, joinWithDemoPage, chromiumForThisFile, openPage, sleep } from '../support/chromium.js';

const env = chromiumForThisFile();

/** The tracks carol's page receives now: mid, identity and kind. */
function remoteTracks(page: Page): Promise<Array<{ mid: string; identity: string; kind: string }>> {
  return page.evaluate(() => [...(window.shoalDemo.client?.remoteTracks.values() ?? [])].map(({ mid, identity, kind }) => ({ mid, identity, kind })));
}

/** Frames decoded on the subscriber connection's m-line `mid`. */
async function framesDecoded(page: Page, mid: string): Promise<number> {
  const stats = await connectionStats(page, 'subscriberPc');
  return Number(stats.find((s) => s.type === 'inbound-rtp' && s.mid === mid)?.framesDecoded ?? 0);
}

test('Chromium receives a new publisher on the m-lines a publisher who left had used', { timeout: 60_000 }, async () => {
  const room = 'reuse';
  const carol = await openPage(env.browser, env.sfu.httpUrl);
  const alice = await openPage(env.browser, env.sfu.httpUrl);
  await joinWithDemoPage(carol.page, room, 'carol');
  await joinWithDemoPage(alice.page, room, 'alice');
  await carol.page.waitForFunction(() => window.shoalDemo.client?.remoteTracks.size === 2, undefined, { timeout: 10_000 });
  const aliceTracks = await remoteTracks(carol.page);
  const aliceVideoMid = aliceTracks.find((t) => t.kind === 'video')!.mid;
  await waitFor(async () => (await framesDecoded(carol.page, aliceVideoMid)) > 10, 'alice\'s video decoding at carol');

  // Alice leaves: her m-lines become inactive at carol, then free.
  await alice.page.click('#leave');
  await carol.page.waitForFunction(() => window.shoalDemo.client!.remoteTracks.size === 0 && document.querySelectorAll('.tile:not(.local)').length === 0, undefined, {
    timeout: 5000,
  });
  await carol.page.waitForFunction(
    (mids) => {
      const pc = window.shoalDemo.client!.subscriberPc!;
      return mids.every((mid) => pc.getTransceivers().find((t) => t.mid === mid)?.currentDirection === 'inactive');
    },
    aliceTracks.map((t) => t.mid),
    { timeout: 5000 },
  );

  // Dave's tracks come on the same m-lines, and his video plays.
  const dave = await openPage(env.browser, env.sfu.httpUrl);
  await joinWithDemoPage(dave.page, room, 'dave');
  await carol.page.waitForFunction(() => window.shoalDemo.client?.remoteTracks.size === 2, undefined, { timeout: 10_000 });
  const daveTracks = await remoteTracks(carol.page);
  assert.deepEqual(
    daveTracks.map((t) => `${t.identity}/${t.kind}@${t.mid}`).sort(),
    aliceTracks.map((t) => `dave/${t.kind}@${t.mid}`).sort(),
    'dave\'s tracks on alice\'s m-lines',
  );
  const before = await framesDecoded(carol.page, aliceVideoMid);
  await waitFor(async () => (await framesDecoded(carol.page, aliceVideoMid)) > before + 20, 'dave\'s video decoding on the reused m-line');
  // (Chromium renders nothing here if the SSRC left the SDP while the m-line was inactive: see writeMLineStates.)
  await carol.page
    .waitForFunction(() => (document.querySelector<HTMLVideoElement>('.tile:not(.local) video')?.videoWidth ?? 0) > 0, undefined, { timeout: 5000 })
    .catch(() => undefined);
  const tiles = await carol.page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.tile:not(.local)')].map((tile) => ({
      label: tile.querySelector('figcaption')?.textContent,
      width: tile.querySelector('video')?.videoWidth ?? 0,
    })),
  );
  assert.deepEqual(tiles.map((tile) => tile.label), ['dave']);
  assert.ok(tiles[0]!.width > 0, 'dave\'s video renders');
  const transceivers = await carol.page.evaluate(() => window.shoalDemo.client!.subscriberPc!.getTransceivers().length);
  assert.equal(transceivers, 2, 'carol\'s connection has two media m-lines, as many as tracks at once');
  assert.deepEqual([...carol.problems, ...alice.problems, ...dave.problems], []);
});

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}
