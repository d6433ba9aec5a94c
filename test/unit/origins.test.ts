import assert from 'node:assert/strict';
import { test } from 'node:test';
import { originAllowed, parseOrigins } from '../../control/http/origins.js';

test('origins are parsed from a comma-separated list and normalized', () => {
  assert.deepEqual(parseOrigins('https://Meet.Example.com, http://localhost:8080/,https://a.example:443'), [
    'https://meet.example.com',
    'http://localhost:8080',
    'https://a.example',
  ]);
  assert.deepEqual(parseOrigins(''), []);
  assert.deepEqual(parseOrigins(' , '), []);
});

test('anything that is not an origin is refused', () => {
  for (const bad of ['meet.example.com', 'https://a.example/path', 'https://a.example?x=1', 'https://user@a.example', 'null', 'file:///tmp', '*']) {
    assert.throws(() => parseOrigins(bad), /not an origin/, bad);
  }
});

test('an empty list allows every origin; requests without Origin are always allowed', () => {
  assert.equal(originAllowed([], 'https://evil.example'), true);
  assert.equal(originAllowed(['https://meet.example.com'], undefined), true);
});

test('a listed origin is allowed, whatever its case or default port; others are not', () => {
  const allowed = parseOrigins('https://meet.example.com,http://localhost:8080');
  assert.equal(originAllowed(allowed, 'https://meet.example.com'), true);
  assert.equal(originAllowed(allowed, 'HTTPS://MEET.EXAMPLE.COM:443'), true);
  assert.equal(originAllowed(allowed, 'http://localhost:8080'), true);
  assert.equal(originAllowed(allowed, 'http://localhost:8081'), false);
  assert.equal(originAllowed(allowed, 'http://meet.example.com'), false, 'another scheme');
  assert.equal(originAllowed(allowed, 'https://meet.example.com.evil.example'), false);
  assert.equal(originAllowed(allowed, 'null'), false, 'sandboxed frames and file: pages send "null"');
  assert.equal(originAllowed(allowed, ''), false);
});
