import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessControl, AccessDenied, requireGrant } from '../../control/auth/access-control.js';
import { signAccessToken, type SigningKey } from '../../control/auth/access-token.js';

const key: SigningKey = { algorithm: 'HS256', secret: Buffer.from('k'.repeat(32)) };
const exp = Math.floor(Date.now() / 1000) + 600;
const token = (claims: object) => signAccessToken({ identity: 'alice', room: 'demo', grants: ['publish'], exp, ...claims } as never, key);

function denied(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AccessDenied, String(error));
    return error.problem;
  }
  assert.fail('admitted');
}

test('an open node admits every join with every grant', () => {
  const open = new AccessControl(undefined);
  const admission = open.admit({ room: 'r', identity: 'bob', token: '' });
  assert.equal(admission.identity, 'bob');
  assert.deepEqual([...admission.grants].sort(), ['admin', 'data', 'publish', 'subscribe']);
  assert.ok(open.isAdmin(undefined));
});

test('with a key: token required, for the room, identity from the token', () => {
  const access = new AccessControl(key);
  assert.equal(denied(() => access.admit({ room: 'demo', identity: 'alice', token: '' })), 'TOKEN_REQUIRED');
  assert.equal(denied(() => access.admit({ room: 'other', identity: '', token: token({}) })), 'TOKEN_WRONG_ROOM');
  assert.equal(denied(() => access.admit({ room: 'demo', identity: '', token: token({ room: undefined }) })), 'TOKEN_WRONG_ROOM');
  assert.equal(denied(() => access.admit({ room: 'demo', identity: 'mallory', token: token({}) })), 'PERMISSION_DENIED');
  assert.equal(denied(() => access.admit({ room: 'demo', identity: '', token: token({ exp: exp - 7200 }) })), 'TOKEN_EXPIRED');
  assert.equal(denied(() => access.admit({ room: 'demo', identity: '', token: 'nonsense' })), 'TOKEN_INVALID');
  const admission = access.admit({ room: 'demo', identity: '', token: token({}) });
  assert.equal(admission.identity, 'alice');
  assert.deepEqual([...admission.grants], ['publish']);
  assert.equal(denied(() => requireGrant(admission.grants, 'data', 'sending data')), 'PERMISSION_DENIED');
});

test('/stats needs a valid token with the admin grant', () => {
  const access = new AccessControl(key);
  assert.equal(access.isAdmin(undefined), false);
  assert.equal(access.isAdmin('Bearer nonsense'), false);
  assert.equal(access.isAdmin(`Bearer ${token({})}`), false, 'no admin grant');
  assert.equal(access.isAdmin(`Bearer ${token({ grants: ['admin'], room: undefined })}`), true);
  assert.equal(access.isAdmin(`Basic ${token({ grants: ['admin'] })}`), false);
});
