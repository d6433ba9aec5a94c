import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import nodeDataChannel, { type Track } from 'node-datachannel';
import { signAccessToken } from '../../control/auth/access-token.js';
import { loopbackEnv, serve, stopServed } from '../support/cli.js';
import { waitUntil } from '../support/peers.js';
import { freeUdpPorts } from '../support/sfu.js';

after(() => nodeDataChannel.cleanup());

/**
 * The environment of docs/deploy.md's `docker run` example, on `shoal serve`
 * (this machine has no Docker daemon to run the image itself): four workers on
 * consecutive UDP ports, an announced address in every candidate, joins that
 * need a token from the secret file. The announced address is 127.0.0.2 here
 * (the example's public IP would leave the loopback-only test namespace).
 */
test('the docker run example\'s environment: a UDP port per worker, every candidate on the announced address, tokens required', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-deploy-'));
  const secret = 'a deploy-test secret that is at least 32 bytes long';
  writeFileSync(join(dir, 'secret'), `${secret}\n`);
  const udpPort = await freeUdpPorts(4);
  const served = await serve({
    ...(await loopbackEnv()),
    SHOAL_UDP_PORT: String(udpPort),
    SHOAL_WORKERS: '4',
    SHOAL_ANNOUNCED_IP: '127.0.0.2',
    SHOAL_AUTH_SECRET_FILE: join(dir, 'secret'),
  });
  const pc = new nodeDataChannel.PeerConnection('deploy-probe', { iceServers: [], bindAddress: '127.0.0.1' });
  let track: Track | undefined;
  try {
    const listening = served.logs.find((l) => l.msg === 'shoal node listening')!;
    const ports = [0, 1, 2, 3].map((i) => String(udpPort + i));
    assert.deepEqual(listening.udpPorts, ports, 'worker i on SHOAL_UDP_PORT + i');

    const audio = new nodeDataChannel.Audio('0', 'SendOnly');
    audio.addOpusCodec(111);
    track = pc.addTrack(audio); // kept: a collected Track is closed under the connection
    track.onMessage(() => undefined);
    pc.setLocalDescription();
    await waitUntil(() => pc.gatheringState() === 'complete', 5000, 'ICE gathering');
    const offer = pc.localDescription()!.sdp;
    const endpoint = `http://127.0.0.1:${served.port}/whip/docker`;
    const post = (headers: Record<string, string>) => fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: offer });

    assert.equal((await post({})).status, 401, 'no token, no session');
    const token = signAccessToken({ room: 'docker', identity: 'camera', grants: ['publish'], exp: Math.floor(Date.now() / 1000) + 600 }, { algorithm: 'HS256', secret: Buffer.from(secret) });
    const response = await post({ authorization: `Bearer ${token}` });
    const answer = await response.text();
    assert.equal(response.status, 201, answer);
    const candidates = answer.split('\r\n').filter((line) => line.startsWith('a=candidate:'));
    assert.ok(candidates.length > 0, `the answer carries candidates: ${answer}`);
    for (const candidate of candidates) {
      const [, , , , address, port] = candidate.split(' ');
      assert.equal(address, '127.0.0.2', `announced, not bound: ${candidate}`);
      assert.ok(ports.includes(port!), `on a worker's port: ${candidate}`);
    }
    const location = new URL(response.headers.get('location')!, endpoint).href;
    assert.equal((await fetch(location, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 200);
  } finally {
    track?.close();
    pc.close();
    assert.equal(await stopServed(served), 0);
  }
});
