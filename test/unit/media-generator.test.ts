import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { MediaGenerator } from '../../bench/client/media-generator.js';
import { REALISTIC_PROFILE } from '../../bench/client/media-profile.js';

interface Sent {
  kind: 'audio' | 'video';
  bytes: number;
  marker: boolean;
  keyframe: boolean;
  tsStep: number;
}

let clock = 0;
beforeEach(() => {
  clock = 0;
  mock.timers.enable({ apis: ['setInterval'] });
});
afterEach(() => mock.timers.reset());

function run(ms: number, generator: MediaGenerator): void {
  for (let t = 0; t < ms; t++) {
    clock++;
    mock.timers.tick(1);
  }
  generator.stop();
}

function generator(sent: Sent[]): MediaGenerator {
  return new MediaGenerator(REALISTIC_PROFILE, (kind, bytes, o) => sent.push({ kind, bytes, ...o }), () => clock);
}

test('the realistic profile: ~2.5 Mbit/s of ~1100-byte video packets at 30 fps, 50 audio packets/s', () => {
  const sent: Sent[] = [];
  const g = generator(sent);
  g.start();
  run(3000, g);
  const video = sent.filter((p) => p.kind === 'video');
  const audio = sent.filter((p) => p.kind === 'audio');
  const frames = video.filter((p) => p.marker).length;
  assert.ok(frames >= 89 && frames <= 90, `${frames} frames in 3 s`);
  const bitrate = (video.reduce((n, p) => n + p.bytes, 0) * 8) / 3;
  // Delta frames at 2.5 Mbit/s plus the first keyframe (4x a delta frame).
  assert.ok(bitrate > 2.5e6 && bitrate < 2.9e6, `video ${Math.round(bitrate)} bit/s`);
  assert.ok(video.filter((p) => !p.marker).every((p) => p.bytes === 1100));
  assert.ok(audio.length >= 149 && audio.length <= 150, `${audio.length} audio packets`);
  assert.ok(audio.every((p) => p.bytes === 100 && p.tsStep === 960));
});

test('keyframes: the first frame, then bursts on request (rate-limited) and on the interval', () => {
  const sent: Sent[] = [];
  const g = generator(sent);
  g.start();
  run(100, g);
  const frameSizes = () => {
    const frames: Array<{ packets: number; keyframe: boolean }> = [];
    let count = 0;
    for (const p of sent.filter((x) => x.kind === 'video')) {
      count++;
      if (p.marker) {
        frames.push({ packets: count, keyframe: p.keyframe });
        count = 0;
      }
    }
    return frames;
  };
  const first = frameSizes();
  assert.equal(first[0]!.keyframe, true);
  assert.ok(first[0]!.packets >= 3 * first[1]!.packets, 'a keyframe is a burst');
  assert.equal(first[1]!.keyframe, false);

  g.requestKeyframe(); // 100 ms after the last keyframe: too soon, ignored
  g.start();
  run(200, g);
  assert.equal(frameSizes().filter((f) => f.keyframe).length, 1);
  g.start();
  run(50, g);
  g.requestKeyframe(); // now over 300 ms after it
  g.start();
  run(40, g);
  assert.equal(frameSizes().filter((f) => f.keyframe).length, 2);
});
