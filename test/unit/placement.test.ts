import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseWorker, type WorkerLoad } from '../../control/rooms/placement.js';

function w(workerId: number, participants: number, alive = true): WorkerLoad {
  return { workerId, participants, alive };
}

const counts = (entries: Array<[number, number]>) => new Map<number, number>(entries);

describe('chooseWorker', () => {
  test('no workers, or none alive: undefined', () => {
    assert.equal(chooseWorker([], counts([]), 10), undefined);
    assert.equal(chooseWorker([w(1, 0, false), w(2, 0, false)], counts([[1, 3]]), 10), undefined);
  });

  test('a new room goes to the least loaded worker', () => {
    assert.equal(chooseWorker([w(1, 5), w(2, 2), w(3, 7)], counts([]), 10), 2);
  });

  test('ties go to the first least loaded worker', () => {
    assert.equal(chooseWorker([w(4, 3), w(2, 1), w(7, 1)], counts([]), 10), 2);
  });

  test('a room stays on its worker even when another is less loaded', () => {
    assert.equal(chooseWorker([w(1, 50), w(2, 0)], counts([[1, 4]]), 10), 1);
  });

  test('a full room overflows to the least loaded worker', () => {
    assert.equal(chooseWorker([w(1, 50), w(2, 9), w(3, 1)], counts([[1, 10]]), 10), 3);
  });

  test('one below capacity still fits', () => {
    assert.equal(chooseWorker([w(1, 50), w(2, 0)], counts([[1, 9]]), 10), 1);
  });

  test('spread over workers: the one with most of the room that still has space', () => {
    const workers = [w(1, 20), w(2, 20), w(3, 0)];
    assert.equal(chooseWorker(workers, counts([[1, 3], [2, 6]]), 10), 2);
    assert.equal(chooseWorker(workers, counts([[1, 6], [2, 3]]), 10), 1);
  });

  test('a full home worker yields to the next worker of the room with space', () => {
    const workers = [w(1, 20), w(2, 20), w(3, 0)];
    assert.equal(chooseWorker(workers, counts([[1, 10], [2, 3]]), 10), 2);
  });

  test('ties in room count go to the first worker listed', () => {
    assert.equal(chooseWorker([w(5, 9), w(6, 1)], counts([[5, 2], [6, 2]]), 10), 5);
  });

  test('a dead worker holding the room is skipped', () => {
    const workers = [w(1, 0, false), w(2, 8), w(3, 4)];
    assert.equal(chooseWorker(workers, counts([[1, 5]]), 10), 3);
    assert.equal(chooseWorker(workers, counts([[1, 5], [2, 1]]), 10), 2);
  });

  test('a dead worker is never chosen even if least loaded', () => {
    assert.equal(chooseWorker([w(1, 0, false), w(2, 8)], counts([]), 10), 2);
  });

  test('room counts for unknown workers are ignored', () => {
    assert.equal(chooseWorker([w(1, 3), w(2, 1)], counts([[99, 2]]), 10), 2);
  });

  test('zero counts do not make a home', () => {
    assert.equal(chooseWorker([w(1, 3), w(2, 1)], counts([[1, 0]]), 10), 2);
  });

  test('capacity 1: every participant goes to the least loaded worker', () => {
    assert.equal(chooseWorker([w(1, 1), w(2, 0)], counts([[1, 1]]), 1), 2);
  });
});
