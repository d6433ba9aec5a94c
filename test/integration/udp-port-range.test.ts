/**
 * `--udp-port-range`: every connection of a worker takes a port of its share.
 * A connection beyond what the share holds is refused with
 * MEDIA_PORTS_EXHAUSTED (503 over WHIP) instead of libdatachannel failing to
 * gather, which aborts the process; the node carries on, and a port freed by
 * a participant who left is taken again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { callbackErrors } from '../../bench/client/media-peer.js';
import { SignalingClient, type ServerEvent } from '../../bench/client/signaling-client.js';
import { PortBudget } from '../../media/transport/port-budget.js';
import { errorCode, Peers, sleep, waitUntil } from '../support/peers.js';
import { freeUdpPorts, startSfu, type TestSfu } from '../support/sfu.js';
import { WhipPublisher } from '../support/whip-clients.js';

/** Five ports: a budget of three connections (two are kept in reserve). */
const PORTS = 5;
let sfu: TestSfu;
let peers: Peers;
const sockets: SignalingClient[] = [];

before(async () => {
  const begin = await freeUdpPorts(PORTS);
  sfu = await startSfu({ workers: 1, udpPortRange: [begin, begin + PORTS - 1] });
  peers = new Peers(sfu.url);
});

after(async () => {
  for (const socket of sockets) socket.close();
  peers?.closeAll();
  await sfu?.stop();
  nodeDataChannel.cleanup();
  assert.deepEqual(callbackErrors, [], 'no client callback threw');
});

async function join(room: string, identity: string): Promise<ServerEvent> {
  const client = await SignalingClient.connect(sfu.url, 'json');
  sockets.push(client);
  return client.request({ join: { room, identity } });
}

describe('a worker\'s share of --udp-port-range', { timeout: 60_000 }, () => {
  test('connections beyond it are refused with MEDIA_PORTS_EXHAUSTED (503 over WHIP); media flows on; a freed port is taken again', async () => {
    assert.equal(PortBudget.forSettings({ portRangeBegin: 1, portRangeEnd: PORTS })?.limit, 3);
    const { trackIds } = await peers.publisher('range', 'alice'); // two connections
    const bob = await peers.join('range', 'bob'); // the third
    for (const id of trackIds) await bob.waitForPackets(id, 20);

    const refused = await join('range', 'carol');
    assert.equal(errorCode(refused), 'MEDIA_PORTS_EXHAUSTED');
    assert.match((refused.error as { message: string }).message, /no UDP port left/);
    const whip = await WhipPublisher.publish(`${sfu.httpUrl}/whip/range`);
    whip.close();
    assert.equal(whip.response?.status, 503, 'WHIP is told to come back later');
    assert.ok(whip.response?.headers.get('retry-after'));
    assert.match(whip.response?.body ?? '', /MEDIA_PORTS_EXHAUSTED/);
    assert.deepEqual(sfu.node.rooms.dump().find((r) => r.name === 'range')!.participants.map((p) => p.identity).sort(), ['alice', 'bob'], 'the refused joins left nothing behind');

    const atBob = bob.received.get(trackIds[1]!)!;
    const before = atBob.packets;
    await waitUntil(() => atBob.packets >= before + 50, 5000, 'media at bob after the refusals');

    // Bob leaves: his port is taken again (once the node has removed him).
    bob.close();
    let again: ServerEvent | undefined;
    for (let attempt = 0; attempt < 50 && again?.message !== 'joined'; attempt++) {
      if (attempt > 0) await sleep(200);
      again = await join('range', 'dave');
      assert.ok(again.message === 'joined' || errorCode(again) === 'MEDIA_PORTS_EXHAUSTED', JSON.stringify(again));
    }
    assert.equal(again?.message, 'joined', 'dave joined on the port bob freed');
  });
});
