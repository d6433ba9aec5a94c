import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import { privateKeyFromPem, publicKeyFromPem, signAccessToken, type Grant, type SigningKey } from '../../control/auth/access-token.js';
import { errorCode, sfuForThisFile, sleep, waitUntil } from '../support/peers.js';
import { startSfu } from '../support/sfu.js';

const secret = Buffer.from('an integration-test secret of 48 bytes, no less');
const key: SigningKey = { algorithm: 'HS256', secret };
const env = sfuForThisFile({ auth: { algorithm: 'HS256', secret } });
const sockets: SignalingClient[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

const nowS = () => Math.floor(Date.now() / 1000);
function token(room: string, identity: string, grants: Grant[] = ['publish', 'subscribe', 'data'], extra: object = {}, signWith = key): string {
  return signAccessToken({ room, identity, grants, exp: nowS() + 600, ...extra }, signWith);
}

async function connect(url = env.sfu.url): Promise<SignalingClient> {
  const client = await SignalingClient.connect(url, 'json');
  sockets.push(client);
  return client;
}

describe('access tokens', { timeout: 60_000 }, () => {
  test('each way a join can fail has its own error code, and the session stays usable', async () => {
    const c = await connect();
    const cases: Array<[string, object]> = [
      ['TOKEN_REQUIRED', { room: 'auth-1', identity: 'alice' }],
      ['TOKEN_INVALID', { room: 'auth-1', identity: '', token: 'not.a.jwt' }],
      ['TOKEN_INVALID', { room: 'auth-1', identity: '', token: token('auth-1', 'alice', undefined, {}, { algorithm: 'HS256', secret: Buffer.from('x'.repeat(48)) }) }],
      ['TOKEN_EXPIRED', { room: 'auth-1', identity: '', token: token('auth-1', 'alice', undefined, { exp: nowS() - 3600 }) }],
      ['TOKEN_NOT_YET_VALID', { room: 'auth-1', identity: '', token: token('auth-1', 'alice', undefined, { nbf: nowS() + 3600 }) }],
      ['TOKEN_WRONG_ROOM', { room: 'auth-1', identity: '', token: token('another-room', 'alice') }],
      ['PERMISSION_DENIED', { room: 'auth-1', identity: 'mallory', token: token('auth-1', 'alice') }],
    ];
    for (const [code, join] of cases) {
      const reply = await c.request({ join });
      assert.equal(errorCode(reply), code, `${code}: ${JSON.stringify(reply.error)}`);
      assert.ok((reply.error as { message: string }).message.length > 0);
    }
    const joined = await c.request({ join: { room: 'auth-1', identity: '', token: token('auth-1', 'alice') } });
    assert.equal(joined.message, 'joined');
    assert.equal((joined.joined as { identity: string }).identity, 'alice', 'the identity is the token\'s');
    assert.deepEqual(env.sfu.node.rooms.dump().find((r) => r.name === 'auth-1')?.participants.map((p) => p.identity), ['alice']);
  });

  test('without the publish grant a participant cannot publish', async () => {
    const viewer = await env.peers.join('auth-2', 'viewer', { token: token('auth-2', 'viewer', ['subscribe']) });
    await assert.rejects(viewer.publish({ audio: true }), /PERMISSION_DENIED/);
    const reply = await viewer.signaling.request({ trickle: { target: 1, candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host', sdpMid: '0' } });
    assert.equal(errorCode(reply), 'PERMISSION_DENIED');
    assert.deepEqual(env.sfu.node.rooms.dump().find((r) => r.name === 'auth-2')?.participants[0]?.published, []);
  });

  test('without the data grant nothing it sends is delivered, on the socket or on a data channel', async () => {
    const listener = await env.peers.join('auth-3', 'listener', { token: token('auth-3', 'listener') });
    const mute = await env.peers.join('auth-3', 'mute', { token: token('auth-3', 'mute', ['publish', 'subscribe']) });
    await Promise.all([listener.waitForChannels(), mute.waitForChannels()]);
    const reply = await mute.signaling.request({ data: { text: 'over the socket' } });
    assert.equal(errorCode(reply), 'PERMISSION_DENIED');
    assert.match((reply.error as { message: string }).message, /"data" grant/);
    const onChannel = mute.signaling.next('error');
    assert.ok(mute.sendOnChannel('reliable', JSON.stringify({ text: 'over the channel' })));
    assert.equal(errorCode(await onChannel), 'PERMISSION_DENIED');
    await sleep(300);
    assert.equal(listener.dataReceived.length, 0);
    assert.equal(listener.signaling.received.filter((e) => e.message === 'data').length, 0);
  });

  test('without the subscribe grant a participant is offered no tracks; with it, it receives them', async () => {
    const publisher = await env.peers.join('auth-4', 'pub', { token: token('auth-4', 'pub') });
    const tracks = await publisher.publish({ audio: true, video: 'VP8' });
    await publisher.waitPublisherConnected();
    publisher.startMedia();
    const blind = await env.peers.join('auth-4', 'blind', { token: token('auth-4', 'blind', ['data']) });
    const watcher = await env.peers.join('auth-4', 'watcher', { token: token('auth-4', 'watcher', ['subscribe']) });
    for (const t of tracks) await watcher.waitForPackets(t.trackId, 10);
    await blind.waitForChannels();
    assert.ok(blind.subscriberOffers.every((o) => (o.subscriberOffer as { tracks: unknown[] }).tracks.length === 0), 'no track in any offer');
    assert.equal(blind.received.size, 0);
  });

  test('a node with an ES256 public key takes tokens signed with its private key, and no others', async () => {
    const pair = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const { publicKey, privateKey } = pair();
    const sfu = await startSfu({ auth: publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) });
    try {
      const signer = privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      const c = await connect(sfu.url);
      const stranger = privateKeyFromPem(pair().privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      assert.equal(errorCode(await c.request({ join: { room: 'ec', identity: '', token: token('ec', 'eve', undefined, {}, stranger) } })), 'TOKEN_INVALID');
      assert.equal(errorCode(await c.request({ join: { room: 'ec', identity: '', token: token('ec', 'eve', undefined, {}, key) } })), 'TOKEN_INVALID', 'HS256 is refused');
      assert.equal((await c.request({ join: { room: 'ec', identity: '', token: token('ec', 'erin', undefined, {}, signer) } })).message, 'joined');
    } finally {
      await sfu.stop();
    }
  });

  test('/stats (rooms and identities) needs a token with the admin grant', async () => {
    const c = await connect();
    assert.equal((await c.request({ join: { room: 'auth-secret-room', identity: '', token: token('auth-secret-room', 'carol') } })).message, 'joined');
    const stats = (authorization?: string) => fetch(`${env.sfu.httpUrl}/stats`, authorization ? { headers: { authorization } } : {});
    for (const [what, header] of [
      ['no token', undefined],
      ['a token without the admin grant', `Bearer ${token('auth-secret-room', 'carol')}`],
      ['a token signed with another secret', `Bearer ${token('', 'ops', ['admin'], { room: undefined }, { algorithm: 'HS256', secret: Buffer.from('z'.repeat(48)) })}`],
      ['an expired admin token', `Bearer ${token('', 'ops', ['admin'], { room: undefined, exp: nowS() - 3600 })}`],
    ] as const) {
      const response = await stats(header);
      assert.equal(response.status, 401, what);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.doesNotMatch(await response.text(), /carol|auth-secret-room/, `${what}: nothing about rooms or identities`);
    }
    const admin = await stats(`Bearer ${token('', 'ops', ['admin'], { room: undefined })}`);
    assert.equal(admin.status, 200);
    assert.match(await admin.text(), /auth-secret-room/);
  });

  test('an open node admits joins without a token', async () => {
    const sfu = await startSfu();
    try {
      const c = await connect(sfu.url);
      assert.equal((await c.request({ join: { room: 'open', identity: 'anyone' } })).message, 'joined');
      await waitUntil(() => sfu.node.rooms.participantCount === 1, 2000, 'the participant');
    } finally {
      await sfu.stop();
    }
  });
});
