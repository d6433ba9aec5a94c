import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sfuForThisFile, waitUntil } from '../support/peers.js';
import { WhepViewer, WhipPublisher } from '../support/whip-clients.js';

const env = sfuForThisFile();
const clients: Array<WhipPublisher | WhepViewer> = [];
after(() => {
  for (const client of clients.splice(0)) client.close();
});

describe('WHIP and WHEP', { timeout: 60_000 }, () => {
  test('smoke', async () => {
    const whip = await WhipPublisher.publish(`${env.sfu.httpUrl}/whip/smoke`);
    clients.push(whip);
    assert.equal(whip.response?.status, 201, whip.response?.body);
    await whip.waitConnected();
    await whip.startMedia();
    const viewer = await WhepViewer.view(`${env.sfu.httpUrl}/whep/smoke`);
    clients.push(viewer);
    assert.equal(viewer.response?.status, 201, viewer.response?.body);
    await viewer.waitForPackets('video', 50);
    await viewer.waitForPackets('audio', 20);
    await waitUntil(() => true, 10, '');
  });
});
