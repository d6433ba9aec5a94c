import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeTrackWants, encodeTrackWants, TrackWantsError } from '../../media/gateway/track-wants.js';
import { shoal } from '../../proto/generated/shoal.js';

const { TrackWants } = shoal.media.v1;

describe('TrackWants between nodes', () => {
  test('round trip; at most 1000 wants per message', () => {
    const wants = Array.from({ length: 2500 }, (_, i) => ({ trackId: `TR_${i}`, workerId: i % 4, released: i % 7 === 0 }));
    const messages = encodeTrackWants('node-2', wants);
    assert.equal(messages.length, 3);
    const decoded = messages.map((m) => decodeTrackWants(m));
    assert.ok(decoded.every((d) => d.nodeId === 'node-2'));
    assert.deepEqual(decoded.flatMap((d) => d.wants), wants);
  });

  test('refused: no node id, ids that cannot stand in a subject, worker ids past 255, too many wants, garbage', () => {
    const bad = [
      TrackWants.encode({ tracks: [{ trackId: 'TR_1' }] }).finish(),
      TrackWants.encode({ nodeId: 'a.b', tracks: [] }).finish(),
      TrackWants.encode({ nodeId: 'n', tracks: [{ trackId: 'TR_1.>' }] }).finish(),
      TrackWants.encode({ nodeId: 'n', tracks: [{ trackId: '' }] }).finish(),
      TrackWants.encode({ nodeId: 'n', tracks: [{ trackId: 'x'.repeat(65) }] }).finish(),
      TrackWants.encode({ nodeId: 'n', tracks: [{ trackId: 'TR_1', workerId: 256 }] }).finish(),
      TrackWants.encode({ nodeId: 'n', tracks: Array.from({ length: 1001 }, () => ({ trackId: 'TR_1' })) }).finish(),
      Uint8Array.from([0x0a, 0xff, 0x01]),
    ];
    for (const message of bad) assert.throws(() => decodeTrackWants(message), TrackWantsError);
  });
});
