import type { MediaProfile } from './media-profile.js';

type SendPacket = (kind: 'audio' | 'video', payloadBytes: number, opts: { marker: boolean; tsStep: number; keyframe: boolean }) => void;

const MIN_FORCED_KEYFRAME_GAP_MS = 300;

/**
 * Paces a publisher's packets like an encoder: one video frame every 1/fps
 * (all its packets at once, the last one marked), bigger keyframes on a timer
 * or on demand (`requestKeyframe`, for PLIs), and audio every 1/pps.
 */
export class MediaGenerator {
  private timers: NodeJS.Timeout[] = [];
  private lastKeyframeAt = -Infinity;
  private keyframeWanted = true;

  constructor(
    private readonly profile: MediaProfile,
    private readonly send: SendPacket,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    this.stop();
    const { video, audio } = this.profile;
    if (video) {
      const frameMs = 1000 / video.fps;
      this.timers.push(setInterval(() => this.sendFrame(), frameMs));
    }
    if (audio) {
      const stepMs = 1000 / audio.packetsPerSecond;
      const tsStep = Math.round(48000 / audio.packetsPerSecond);
      this.timers.push(setInterval(() => this.send('audio', audio.packetBytes, { marker: false, tsStep, keyframe: false }), stepMs));
    }
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /** The next frame is a keyframe (rate-limited, as encoders do). */
  requestKeyframe(): void {
    if (this.now() - this.lastKeyframeAt >= MIN_FORCED_KEYFRAME_GAP_MS) this.keyframeWanted = true;
  }

  private sendFrame(): void {
    const video = this.profile.video!;
    const now = this.now();
    const keyframe = this.keyframeWanted || now - this.lastKeyframeAt >= video.keyframeIntervalMs;
    if (keyframe) {
      this.keyframeWanted = false;
      this.lastKeyframeAt = now;
    }
    const frameBytes = (video.bitrateBps / 8 / video.fps) * (keyframe ? video.keyframeFactor : 1);
    const packets = Math.max(1, Math.ceil(frameBytes / video.packetBytes));
    const tsStep = Math.round(90000 / video.fps);
    for (let i = 0; i < packets; i++) {
      const last = i === packets - 1;
      const size = last ? Math.max(32, Math.round(frameBytes - video.packetBytes * (packets - 1))) : video.packetBytes;
      this.send('video', size, { marker: last, tsStep: i === 0 ? tsStep : 0, keyframe });
    }
  }
}
