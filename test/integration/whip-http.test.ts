import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import { keepUntilClosed } from '../../media/binding/keep-until-closed.js';
import { signAccessToken, type Grant, type SigningKey } from '../../control/auth/access-token.js';
import { startSfu, wsEngines, type TestSfu } from '../support/sfu.js';
import { WhepViewer, WhipPublisher, type WhipClientOptions } from '../support/whip-clients.js';

const clients: Array<WhipPublisher | WhepViewer> = [];
afterEach(async () => {
  // As a client would: end the session (it counts against --max-connections until it ends), then close.
  await Promise.all(clients.map((client) => (client.location ? client.delete().catch(() => 0) : 0)));
  for (const client of clients.splice(0)) client.close();
});
after(() => nodeDataChannel.cleanup());

async function whip(sfu: TestSfu, room: string, options: WhipClientOptions = {}): Promise<WhipPublisher> {
  const client = await WhipPublisher.publish(`${sfu.httpUrl}/whip/${room}`, options);
  clients.push(client);
  return client;
}

async function whep(sfu: TestSfu, path: string, options: WhipClientOptions = {}): Promise<WhepViewer> {
  const client = await WhepViewer.view(`${sfu.httpUrl}/whep/${path}`, options);
  clients.push(client);
  return client;
}

/** A request with a body; resolves with status, headers and text. */
async function request(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** A small offer libdatachannel accepts, as a WHIP client would send it. */
async function offerSdp(): Promise<string> {
  const pc = new nodeDataChannel.PeerConnection('offer-maker', { iceServers: [], bindAddress: '127.0.0.1' });
  const audio = new nodeDataChannel.Audio('0', 'SendOnly');
  audio.addOpusCodec(111);
  // Held until libdatachannel reports it closed: a wrapper collected before that crashes cleanup().
  const track = keepUntilClosed(pc.addTrack(audio));
  const sdp = new Promise<string>((resolve) => pc.onLocalDescription((s, type) => type === 'offer' && resolve(s)));
  pc.setLocalDescription();
  const offer = await sdp;
  track.close();
  pc.close();
  return offer;
}

const ICE_SERVERS = [{ url: 'stun:stun.example.net:3478' }, { url: 'turn:turn.example.net:3478?transport=udp', username: 'shoal', credential: 's3cret' }];

for (const engine of wsEngines()) {
  describe(`WHIP/WHEP over HTTP (${engine} engine)`, { timeout: 90_000 }, () => {
    let sfu: TestSfu;
    before(async () => {
      sfu = await startSfu({ wsEngine: engine, iceServers: ICE_SERVERS, maxMessageBytes: 16 * 1024, limits: { maxConnections: 4, maxMessagesPerSecond: 5 } });
    });
    after(() => sfu.stop());

    test('CORS: preflight and responses for browser origins; OPTIONS names what the endpoint takes and the ICE servers', async () => {
      const origin = 'http://localhost:9999';
      const preflight = await request(`${sfu.httpUrl}/whip/cors`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assert.equal(preflight.status, 200);
      assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
      assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization.*Content-Type.*If-Match/);
      assert.equal(preflight.headers.get('accept-post'), 'application/sdp');
      assert.equal(preflight.headers.get('link'), null, 'no ICE servers in a CORS preflight (RFC 9725 section 4.6)');
      const options = await request(`${sfu.httpUrl}/whip/cors`, { method: 'OPTIONS' });
      assert.match(options.headers.get('link') ?? '', /<stun:stun\.example\.net:3478>; rel="ice-server"/);
      const refused = await request(`${sfu.httpUrl}/whip/cors`, { method: 'POST', headers: { origin, 'content-type': 'text/plain' }, body: 'x' });
      assert.equal(refused.status, 415);
      assert.equal(refused.headers.get('access-control-allow-origin'), origin, 'errors carry CORS headers: a browser can read them');
      assert.match(refused.headers.get('access-control-expose-headers') ?? '', /Location.*ETag.*Link/);
    });

    test('201 names the ICE servers in Link headers; sessions are counted with WebSockets against --max-connections', async () => {
      const first = await whip(sfu, 'count');
      assert.equal(first.response?.status, 201);
      const link = first.response!.headers.get('link') ?? '';
      assert.match(link, /<stun:stun\.example\.net:3478>; rel="ice-server"/);
      assert.match(link, /<turn:turn\.example\.net:3478\?transport=udp>; rel="ice-server"; username="shoal"; credential="s3cret"; credential-type="password"/);
      const second = await whep(sfu, 'count');
      const socket = await SignalingClient.connect(sfu.url);
      try {
        const third = await whip(sfu, 'count');
        assert.equal(third.response?.status, 201);
        assert.notEqual(third.location, first.location);
        const full = await whip(sfu, 'count');
        assert.equal(full.response?.status, 503, 'four sessions: three over HTTP and one WebSocket');
        assert.ok(full.response!.headers.get('retry-after'));
        assert.equal(await second.delete(), 200);
        const again = await whip(sfu, 'count');
        assert.equal(again.response?.status, 201, 'a slot freed by DELETE');
      } finally {
        socket.close();
      }
    });

    test('refusals: 415, 400, 404, 405 with Allow, 413', async () => {
      const offer = await offerSdp();
      const post = (path: string, body: string, contentType = 'application/sdp') => request(`${sfu.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
      const wrongType = await post('/whip/errors', offer, 'application/json');
      assert.equal(wrongType.status, 415);
      assert.equal(wrongType.headers.get('accept-post'), 'application/sdp');
      assert.equal((await post('/whip/errors', 'not an sdp')).status, 400);
      const noFingerprint = await post('/whip/errors', offer.replace(/^a=fingerprint:.*\r\n/gm, ''));
      assert.equal(noFingerprint.status, 400);
      assert.match(noFingerprint.body, /^INVALID_SDP: .*fingerprint/);
      assert.equal((await post('/whip/errors', offer.replace(/ 111\r\n/, ' 0\r\n').replace(/opus\/48000\/2/, 'unknown/8000'))).status, 400, 'no forwardable codec: nothing to publish');
      assert.equal((await post('/whip/bad%20name', offer)).status, 400, 'a room name with characters names cannot have');
      assert.equal((await post('/whep/nobody-here', offer)).status, 404, 'WHEP to a room that does not exist');
      assert.equal((await request(`${sfu.httpUrl}/whip/errors/${'0'.repeat(32)}`, { method: 'DELETE' })).status, 404, 'unknown session');
      assert.equal((await request(`${sfu.httpUrl}/whip/errors/a/b`)).status, 404);
      const put = await request(`${sfu.httpUrl}/whip/errors`, { method: 'PUT', body: offer });
      assert.equal(put.status, 405);
      assert.equal(put.headers.get('allow'), 'GET, HEAD, POST, OPTIONS');
      assert.equal((await request(`${sfu.httpUrl}/whip/errors`)).status, 204, 'GET on an endpoint: 2xx with no content');
      const tooLarge = await post('/whip/errors', offer + `a=x-padding:${'x'.repeat(20_000)}\r\n`);
      assert.equal(tooLarge.status, 413);
      assert.equal((await request(`${sfu.httpUrl}/healthz`)).status, 200, 'the node carries on');

      const session = await whip(sfu, 'errors');
      const onSession = await request(session.location, { method: 'POST', body: 'x' });
      assert.equal(onSession.status, 405);
      assert.equal(onSession.headers.get('allow'), 'GET, HEAD, PATCH, DELETE, OPTIONS');
    });

    test('PATCH: 204 for candidates (TCP ones ignored), 415, 412 for another ETag, 400 for a bad fragment, 422 for an ICE restart (the session stays), 429 over the rate', async () => {
      const session = await whip(sfu, 'patch', { trickle: false });
      assert.equal(session.response?.status, 201);
      await session.waitConnected();
      const mid = 'a=mid:0\r\n';
      const tcp = `${mid}a=candidate:1 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n`;
      assert.equal((await session.patch(tcp)).status, 204, 'a TCP candidate is ignored (ICE-TCP is off)');
      assert.equal((await session.patch(tcp, undefined)).status, 204, 'If-Match may be left out');
      assert.equal((await session.patch(tcp, '*')).status, 204);
      assert.equal((await session.patch(tcp, undefined, 'application/sdp')).status, 415);
      assert.equal((await session.patch(tcp, '"another"')).status, 412);
      assert.equal((await session.patch('garbage\r\n')).status, 400);
      assert.equal((await session.patch(`${mid}a=candidate:1 1 udp 1 0.0.0.0 9 typ host\r\n`)).status, 400, 'an address no peer can have');
      const restart = await session.patch('a=ice-ufrag:new1\r\na=ice-pwd:aNewPasswordOf22Chars!!\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n', '*');
      assert.equal(restart.status, 422);
      assert.match(await restart.text(), /ICE restart is not supported/);
      assert.equal((await fetch(session.location)).status, 204, 'the session stays after a refused ICE restart');
      assert.equal(session.pc.state(), 'connected');
      // 5 requests/s with bursts of 10: a flood is answered 429 well before it ends.
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await fetch(session.location)).status);
      assert.ok(statuses.includes(429), `statuses ${statuses.join(',')}`);
    });
  });
}

describe('WHIP/WHEP with access tokens', { timeout: 60_000 }, () => {
  const secret = Buffer.from('an integration-test secret of 48 bytes, no less');
  const key: SigningKey = { algorithm: 'HS256', secret };
  const token = (room: string, identity: string, grants: Grant[] = ['publish', 'subscribe', 'data'], exp = Math.floor(Date.now() / 1000) + 600) =>
    signAccessToken({ room, identity, grants, exp }, key);
  let sfu: TestSfu;
  before(async () => {
    sfu = await startSfu({ auth: { algorithm: 'HS256', secret } });
  });
  after(() => sfu.stop());

  test('Authorization: Bearer carries the join token: 401 without a valid one, 403 for another room or without the grant; the identity is the token\'s', async () => {
    const status = async (protocol: 'whip' | 'whep', path: string, options: WhipClientOptions) => {
      const client = protocol === 'whip' ? await whip(sfu, path, options) : await whep(sfu, path, options);
      return { status: client.response?.status, headers: client.response?.headers };
    };
    const missing = await status('whip', 'tokens', {});
    assert.equal(missing.status, 401);
    assert.equal(missing.headers?.get('www-authenticate'), 'Bearer');
    const invalid = await status('whip', 'tokens', { token: 'not.a.jwt' });
    assert.equal(invalid.status, 401);
    assert.match(invalid.headers?.get('www-authenticate') ?? '', /invalid_token/);
    assert.equal((await status('whip', 'tokens', { token: token('tokens', 'carol', ['publish'], Math.floor(Date.now() / 1000) - 3600) })).status, 401, 'expired');
    assert.equal((await status('whip', 'tokens', { token: token('another-room', 'carol') })).status, 403);
    assert.equal((await status('whip', 'tokens', { token: token('tokens', 'carol', ['subscribe']) })).status, 403, 'WHIP needs the publish grant');
    assert.equal((await status('whip', 'tokens?identity=mallory', { token: token('tokens', 'carol') })).status, 403, 'another identity than the token\'s');

    const publisher = await whip(sfu, 'tokens', { token: token('tokens', 'carol', ['publish']) });
    assert.equal(publisher.response?.status, 201);
    await publisher.startMedia();
    assert.equal((await status('whep', 'tokens', { token: token('tokens', 'dave', ['publish']) })).status, 403, 'WHEP needs the subscribe grant');
    const viewer = await whep(sfu, 'tokens', { token: token('tokens', 'dave', ['subscribe']) });
    assert.equal(viewer.response?.status, 201);
    await viewer.waitForPackets('video', 30);
    const identities = sfu.node.rooms.dump().find((r) => r.name === 'tokens')?.participants.map((p) => p.identity).sort();
    assert.deepEqual(identities, ['carol', 'dave']);
    assert.equal(await viewer.delete(), 200, 'the session URL is the capability for PATCH and DELETE');
  });
});

describe('hostile HTTP', { timeout: 60_000 }, () => {
  let sfu: TestSfu;
  before(async () => {
    sfu = await startSfu({ maxMessageBytes: 16 * 1024 });
  });
  after(() => sfu.stop());

  test('the node keeps serving whatever is sent to the WHIP and WHEP routes', async () => {
    const { port } = new URL(sfu.httpUrl);
    const offer = await offerSdp();
    const bodies = [
      '',
      'v=0\r\n',
      offer.replace(/a=mid:0/, 'a=mid:'),
      offer.replace(/m=audio 9/, 'm=audio 99999'),
      offer + offer,
      offer.replace(/a=setup:actpass/, 'a=setup:passive'),
      `v=0\r\n${'m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x\r\n'.repeat(300)}`,
      Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString('latin1'),
      offer.replace(/\r\n/g, '\n'),
    ];
    for (const route of ['/whip/hostile', '/whep/hostile']) {
      for (const body of bodies) {
        const response = await fetch(`${sfu.httpUrl}${route}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body });
        assert.ok(response.status >= 400 && response.status < 500 || response.status === 201, `${route}: ${response.status}`);
        await response.arrayBuffer();
      }
    }
    const session = await whip(sfu, 'hostile');
    const fragments = ['', 'a=candidate:\r\n', `a=mid:0\r\n${'a=candidate:1 1 udp 1 127.0.0.1 1 typ host\r\n'.repeat(200)}`, 'a=ice-ufrag:a\r\na=ice-ufrag:b\r\n', 'm=\r\n\u0000'];
    for (const fragment of fragments) await (await session.patch(fragment)).arrayBuffer();
    // Raw requests: a body cut short, a lying Content-Length, a chunked body over the limit, huge headers.
    const raw = [
      `POST /whip/hostile HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 5000\r\n\r\nv=0\r\n`,
      `POST /whip/hostile HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 99999999999\r\n\r\nv=0\r\n`,
      `POST /whip/hostile HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n\r\n${'4000\r\n' + 'x'.repeat(0x4000) + '\r\n'}${'4000\r\n' + 'x'.repeat(0x4000) + '\r\n'}0\r\n\r\n`,
      `GET /whip/hostile HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(300_000)}\r\n\r\n`,
      `PATCH /whip/hostile/${'f'.repeat(32)} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc`,
    ];
    await Promise.all(raw.map((data) => sendRaw(Number(port), data)));
    assert.equal((await fetch(`${sfu.httpUrl}/healthz`)).status, 200);
    const after = await whip(sfu, 'hostile-after');
    assert.equal(after.response?.status, 201, 'a WHIP client is still served');
    await after.startMedia();
    const viewer = await whep(sfu, 'hostile-after');
    await viewer.waitForPackets('video', 30);
  });
});

/** Writes `data` on a new TCP connection and closes it after a moment (or when the server does). */
function sendRaw(port: number, data: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(data));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
    socket.on('data', () => undefined);
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}
