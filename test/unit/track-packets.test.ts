import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BusFrameError, countTrackPackets, decodeTrackPackets, encodeTrackPackets } from '../../media/bus/track-packets.js';

const packet = (size: number, fill: number) => Buffer.alloc(size, fill);

describe('TrackPackets on the media bus', () => {
  test('round trip: rtp, resent and feedback keep their order and bytes; the count agrees', () => {
    const lists = { rtp: [packet(1200, 1), packet(100, 2)], resent: [packet(900, 3)], feedback: [packet(12, 4)] };
    const encoded = encodeTrackPackets(lists);
    assert.equal(encoded.byteOffset, 0);
    assert.equal(encoded.byteLength, encoded.buffer.byteLength, 'owns its buffer (transferable)');
    assert.equal(countTrackPackets(encoded), 4);
    const decoded = decodeTrackPackets(encoded);
    assert.deepEqual(decoded.rtp, lists.rtp);
    assert.deepEqual(decoded.resent, lists.resent);
    assert.deepEqual(decoded.feedback, lists.feedback);
    assert.equal(decoded.rtp[0]!.buffer, encoded.buffer, 'packets are views, not copies');
  });

  test('an empty message has no packets', () => {
    assert.equal(countTrackPackets(new Uint8Array(0)), 0);
    assert.deepEqual(decodeTrackPackets(new Uint8Array(0)), { rtp: [], resent: [], feedback: [] });
  });

  test('refused: empty packets, a length past the end, other wire types, too many packets', () => {
    const bad = [
      Uint8Array.from([0x0a, 0x00]),
      Uint8Array.from([0x0a, 0x05, 1, 2]),
      Uint8Array.from([0x08, 0x01]),
      Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      encodeTrackPackets({ rtp: Array.from({ length: 1025 }, () => packet(1, 1)) }),
      encodeTrackPackets({ rtp: [packet(65_536, 1)] }),
    ];
    for (const message of bad) {
      assert.equal(countTrackPackets(message), undefined, Buffer.from(message.subarray(0, 8)).toString('hex'));
      assert.throws(() => decodeTrackPackets(message), BusFrameError);
    }
    assert.equal(countTrackPackets(encodeTrackPackets({ rtp: Array.from({ length: 1024 }, () => packet(1, 1)) })), 1024);
  });

  test('unknown length-delimited fields (a newer version\'s) are skipped', () => {
    const known = encodeTrackPackets({ rtp: [packet(3, 7)] });
    const message = Buffer.concat([Uint8Array.from([0x22, 0x02, 9, 9]), known]);
    assert.equal(countTrackPackets(message), 1);
    assert.deepEqual(decodeTrackPackets(message).rtp, [packet(3, 7)]);
  });
});
