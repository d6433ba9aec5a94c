/** How a synthetic publisher sends: realistic for benchmarks, lighter for tests. */
export interface MediaProfile {
  video?: {
    bitrateBps: number;
    fps: number;
    /** RTP payload size of a full packet, bytes. */
    packetBytes: number;
    /** A keyframe every so often (and whenever a PLI asks), ms. */
    keyframeIntervalMs: number;
    /** A keyframe is this many times a delta frame. */
    keyframeFactor: number;
  };
  audio?: { packetsPerSecond: number; packetBytes: number };
}

/** Video about 2.5 Mbit/s in ~1100-byte packets at 30 fps with keyframe bursts; Opus-like audio, 50 packets/s of ~100 bytes. */
export const REALISTIC_PROFILE: MediaProfile = {
  video: { bitrateBps: 2_500_000, fps: 30, packetBytes: 1100, keyframeIntervalMs: 4000, keyframeFactor: 4 },
  audio: { packetsPerSecond: 50, packetBytes: 100 },
};

/** About 100 video packets/s: enough for functional tests, light on the machine. */
export const TEST_PROFILE: MediaProfile = {
  video: { bitrateBps: 880_000, fps: 30, packetBytes: 1100, keyframeIntervalMs: 4000, keyframeFactor: 2 },
  audio: { packetsPerSecond: 50, packetBytes: 100 },
};
