import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_NAME_LENGTH, nameProblem } from '../../control/signaling/names.js';

describe('nameProblem', () => {
  test('valid names', () => {
    for (const name of ['a', 'Z', '0', 'room-1', 'my_room', 'A-Za-z0-9_-', '_', '-', 'x'.repeat(64)]) {
      assert.equal(nameProblem('room', name), undefined, name);
      assert.equal(nameProblem('identity', name), undefined, name);
    }
    assert.equal(MAX_NAME_LENGTH, 64);
  });

  test('empty', () => {
    assert.equal(nameProblem('room', ''), 'room is empty');
    assert.equal(nameProblem('identity', ''), 'identity is empty');
  });

  test('65 characters is too long', () => {
    assert.equal(nameProblem('room', 'x'.repeat(65)), 'room is longer than 64 characters');
    assert.equal(nameProblem('identity', 'x'.repeat(1000)), 'identity is longer than 64 characters');
  });

  test('dots', () => {
    assert.equal(nameProblem('room', 'a.b'), 'room contains "."; allowed are A-Z, a-z, 0-9, "_" and "-"');
    assert.match(nameProblem('room', '.')!, /contains "\."/);
  });

  test('wildcards * and >', () => {
    assert.match(nameProblem('room', 'a*')!, /^room contains "\*"/);
    assert.match(nameProblem('identity', '>')!, /^identity contains ">"/);
    assert.match(nameProblem('room', 'room.>')!, /contains "\."/, 'names the first bad character');
  });

  test('whitespace', () => {
    assert.match(nameProblem('room', 'a b')!, /contains " "/);
    assert.match(nameProblem('room', 'a\tb')!, /contains "\\t"/);
    assert.match(nameProblem('room', 'ab\n')!, /contains "\\n"/);
    assert.match(nameProblem('room', ' ')!, /contains " "/);
  });

  test('other characters', () => {
    for (const name of ['a/b', 'a:b', 'é', 'a$', 'a\u0000b', '😀']) {
      assert.match(nameProblem('room', name)!, /^room contains /, JSON.stringify(name));
    }
    assert.equal(nameProblem('room', 'a😀'), 'room contains "😀"; allowed are A-Z, a-z, 0-9, "_" and "-"');
  });

  test('the length check comes first', () => {
    assert.equal(nameProblem('room', '.'.repeat(65)), 'room is longer than 64 characters');
  });
});
