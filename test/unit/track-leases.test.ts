import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TrackLeases } from '../../media/gateway/track-leases.js';

describe('TrackLeases', () => {
  test('the first lease on a track starts it; more leases and renewals do not', () => {
    const leases = new TrackLeases(3000, 100);
    assert.equal(leases.renew('T1', 1, 'n2', 0), 'first');
    assert.equal(leases.renew('T1', 1, 'n2', 500), 'renewed');
    assert.equal(leases.renew('T1', 1, 'n3', 600), 'renewed');
    assert.equal(leases.leaseCount, 2);
    assert.equal(leases.trackCount, 1);
    assert.equal(leases.workerOf('T1'), 1);
    assert.deepEqual(leases.tracksOf(1), ['T1']);
    assert.deepEqual(leases.tracksOf(0), []);
  });

  test('a release ends that node\'s lease; the track ends with its last one', () => {
    const leases = new TrackLeases(3000, 100);
    leases.renew('T1', 0, 'n2', 0);
    leases.renew('T1', 0, 'n3', 0);
    assert.equal(leases.release('T1', 'n2'), undefined);
    assert.equal(leases.release('T1', 'n2'), undefined, 'a second release changes nothing');
    assert.deepEqual(leases.release('T1', 'n3'), { trackId: 'T1', workerId: 0 });
    assert.equal(leases.workerOf('T1'), undefined);
    assert.equal(leases.leaseCount, 0);
    assert.equal(leases.release('T9', 'n2'), undefined, 'an unknown track');
  });

  test('leases not renewed within the TTL end; renewed ones stay', () => {
    const leases = new TrackLeases(3000, 100);
    leases.renew('T1', 0, 'n2', 0);
    leases.renew('T1', 0, 'n3', 0);
    leases.renew('T2', 1, 'n2', 0);
    leases.renew('T1', 0, 'n3', 2000);
    assert.deepEqual(leases.expire(2999), []);
    assert.deepEqual(leases.expire(3000), [{ trackId: 'T2', workerId: 1 }]);
    assert.equal(leases.leaseCount, 1, 'n3 still holds T1');
    assert.deepEqual(leases.expire(5000), [{ trackId: 'T1', workerId: 0 }]);
    assert.equal(leases.trackCount, 0);
    assert.equal(leases.renew('T1', 0, 'n2', 6000), 'first', 'a track wanted again starts again');
  });

  test('new leases past the bound are refused; renewals of held ones are not', () => {
    const leases = new TrackLeases(3000, 2);
    assert.equal(leases.renew('T1', 0, 'n2', 0), 'first');
    assert.equal(leases.renew('T2', 0, 'n2', 0), 'first');
    assert.equal(leases.renew('T3', 0, 'n2', 0), 'refused');
    assert.equal(leases.renew('T1', 0, 'n3', 0), 'refused');
    assert.equal(leases.renew('T1', 0, 'n2', 10), 'renewed');
    assert.equal(leases.trackCount, 2);
  });

  test('the worker named by the first lease stays the track\'s', () => {
    const leases = new TrackLeases(3000, 10);
    leases.renew('T1', 2, 'n2', 0);
    leases.renew('T1', 5, 'n3', 0);
    assert.equal(leases.workerOf('T1'), 2);
  });
});
