import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CLOCK_LEEWAY_S,
  privateKeyFromPem,
  publicKeyFromPem,
  signAccessToken,
  TokenError,
  verifyAccessToken,
  type SigningKey,
  type VerificationKey,
} from '../../control/auth/access-token.js';

const secret = Buffer.from('s'.repeat(40));
const hs256: VerificationKey & SigningKey = { algorithm: 'HS256', secret };
const NOW = 1_800_000_000;
const claims = { room: 'demo', identity: 'alice', grants: ['publish', 'data'] as const, exp: NOW + 3600 };

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TokenError, String(error));
    return `${error.problem}: ${error.message}`;
  }
  assert.fail('no error');
}

function pem(type: 'ec' | 'rsa', options: object) {
  const { publicKey, privateKey } = generateKeyPairSync(type as 'ec', options as { namedCurve: string });
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function forge(header: object, payload: object, signature = ''): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.${signature}`;
}

describe('access tokens', () => {
  test('an HS256 token round-trips its claims', () => {
    const token = signAccessToken({ ...claims, grants: [...claims.grants] }, hs256);
    const read = verifyAccessToken(token, hs256, NOW);
    assert.equal(read.room, 'demo');
    assert.equal(read.identity, 'alice');
    assert.deepEqual([...read.grants].sort(), ['data', 'publish']);
  });

  for (const [name, type, options] of [
    ['ES256 (P-256)', 'ec', { namedCurve: 'prime256v1' }],
    ['RS256', 'rsa', { modulusLength: 2048 }],
  ] as const) {
    test(`an ${name} token is checked with the public key alone`, () => {
      const keys = pem(type, options);
      const token = signAccessToken({ ...claims, grants: [...claims.grants] }, privateKeyFromPem(keys.privateKey));
      const publicKey = publicKeyFromPem(keys.publicKey);
      assert.equal(verifyAccessToken(token, publicKey, NOW).identity, 'alice');
      const other = publicKeyFromPem(pem(type, options).publicKey);
      assert.match(problem(() => verifyAccessToken(token, other, NOW)), /^TOKEN_INVALID: .*bad signature/);
    });
  }

  test('other curves are refused when the key is read', () => {
    assert.throws(() => publicKeyFromPem(pem('ec', { namedCurve: 'secp384r1' }).publicKey), /P-256/);
  });

  test('a changed payload, another secret and a truncated signature are refused', () => {
    const token = signAccessToken({ ...claims, grants: [...claims.grants] }, hs256);
    const [h, , s] = token.split('.');
    const admin = Buffer.from(JSON.stringify({ ...claims, grants: ['admin'] })).toString('base64url');
    assert.match(problem(() => verifyAccessToken(`${h}.${admin}.${s}`, hs256, NOW)), /^TOKEN_INVALID: .*bad signature/);
    assert.match(problem(() => verifyAccessToken(token, { algorithm: 'HS256', secret: Buffer.from('t'.repeat(40)) }, NOW)), /bad signature/);
    assert.match(problem(() => verifyAccessToken(token.slice(0, -4), hs256, NOW)), /bad signature/);
  });

  test('"none" and an algorithm other than the key\'s are refused (no algorithm confusion)', () => {
    assert.match(problem(() => verifyAccessToken(forge({ alg: 'none' }, claims), hs256, NOW)), /^TOKEN_INVALID: .*"none" is not accepted/);
    // An HS256 token "signed" with the public key's PEM text must not pass an RS256 node.
    const keys = pem('rsa', { modulusLength: 2048 });
    const input = `${Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const forged = `${input}.${createHmac('sha256', keys.publicKey).update(input).digest('base64url')}`;
    assert.match(problem(() => verifyAccessToken(forged, publicKeyFromPem(keys.publicKey), NOW)), /"HS256" is not accepted; this node takes RS256/);
  });

  test('expiry and not-before, with the clock leeway', () => {
    const token = (extra: object) => signAccessToken({ ...claims, grants: [...claims.grants], ...extra }, hs256);
    assert.match(problem(() => verifyAccessToken(token({ exp: NOW - CLOCK_LEEWAY_S - 1 }), hs256, NOW)), /^TOKEN_EXPIRED: /);
    assert.equal(verifyAccessToken(token({ exp: NOW - CLOCK_LEEWAY_S + 1 }), hs256, NOW).identity, 'alice');
    assert.match(problem(() => verifyAccessToken(token({ nbf: NOW + CLOCK_LEEWAY_S + 1 }), hs256, NOW)), /^TOKEN_NOT_YET_VALID: /);
    assert.equal(verifyAccessToken(token({ nbf: NOW + CLOCK_LEEWAY_S - 1 }), hs256, NOW).identity, 'alice');
  });

  test('claims of the wrong shape are refused with what is wrong', () => {
    const sign = (payload: object) => signAccessToken(payload as never, hs256);
    assert.match(problem(() => verifyAccessToken(sign({ ...claims, exp: undefined }), hs256, NOW)), /exp claim .* is required/);
    assert.match(problem(() => verifyAccessToken(sign({ ...claims, identity: 7 }), hs256, NOW)), /identity claim/);
    assert.match(problem(() => verifyAccessToken(sign({ ...claims, grants: 'publish' }), hs256, NOW)), /grants claim/);
    assert.match(problem(() => verifyAccessToken(sign({ ...claims, room: ['a'] }), hs256, NOW)), /room claim/);
  });

  test('unknown grants grant nothing', () => {
    const token = signAccessToken({ ...claims, grants: ['pubish', 'subscribe'] as never }, hs256);
    assert.deepEqual([...verifyAccessToken(token, hs256, NOW).grants], ['subscribe']);
  });

  test('garbage is TOKEN_INVALID, never an exception of another kind', () => {
    for (const garbage of ['', 'a.b', 'a.b.c.d', '!!.??.**', 'x'.repeat(5000), forge({ alg: 'HS256' }, [] as never), 'e30.e30.', `${Buffer.from('[1]').toString('base64url')}.e30.`]) {
      assert.match(problem(() => verifyAccessToken(garbage, hs256, NOW)), /^TOKEN_INVALID: /, garbage.slice(0, 30));
    }
  });
});
