import { setTimeout as sleep } from 'node:timers/promises';
import { REALISTIC_PROFILE, withoutVideo } from '../client/media-profile.js';
import type { ClientMeasurement } from '../report/types.js';
import { ClientFleet } from './client-fleet.js';
import type { PeerPlan } from './fleet-protocol.js';

export interface LoadtestOptions {
  url: string;
  rooms: number;
  roomPrefix: string;
  publishers: number;
  subscribers: number;
  video: boolean;
  durationS: number;
  rampUpS: number;
  clientProcesses: number;
  onProgress?: (doneS: number, totalS: number, extra: string) => void;
}

export interface LoadtestResult {
  url: string;
  rooms: number;
  publishersPerRoom: number;
  subscribersPerRoom: number;
  joined: number;
  failures: string[];
  durationS: number;
  clients: ClientMeasurement;
}

/**
 * Drives a running Shoal deployment through its public signaling only:
 * `rooms` rooms, each with `publishers` publishing (audio and, unless
 * disabled, video) and `subscribers` receiving, joined over `rampUpS`; then
 * measures what the clients receive for `durationS` and leaves.
 */
export async function runLoadtest(options: LoadtestOptions): Promise<LoadtestResult> {
  const peers: PeerPlan[] = [];
  for (let r = 1; r <= options.rooms; r++) {
    const room = `${options.roomPrefix}-${r}`;
    for (let p = 1; p <= options.publishers; p++) peers.push({ room, identity: `pub-${p}`, publish: { audio: true, video: options.video } });
    for (let s = 1; s <= options.subscribers; s++) peers.push({ room, identity: `sub-${s}` });
  }
  const fleet = ClientFleet.start(Math.max(1, Math.min(options.clientProcesses, peers.length)));
  try {
    const perProcess = Math.ceil(peers.length / Math.max(1, options.clientProcesses));
    const rampMs = perProcess > 1 ? (options.rampUpS * 1000) / perProcess : 0;
    const joined = await fleet.join(options.url, peers, {
      profile: options.video ? REALISTIC_PROFILE : withoutVideo(REALISTIC_PROFILE),
      rampMs,
      feedback: true,
      timeoutMs: options.rampUpS * 1000 + 60_000,
    });
    // Let the last subscribers' renegotiations settle before counting.
    await sleep(2000);
    fleet.reset();
    const started = performance.now();
    options.onProgress?.(0, options.durationS, `${joined.joined}/${peers.length} joined`);
    for (let second = 1; second <= options.durationS; second++) {
      await sleep(started + second * 1000 - performance.now());
      options.onProgress?.(second, options.durationS, `${joined.joined}/${peers.length} joined`);
    }
    const durationS = (performance.now() - started) / 1000;
    return {
      url: options.url,
      rooms: options.rooms,
      publishersPerRoom: options.publishers,
      subscribersPerRoom: options.subscribers,
      joined: joined.joined,
      failures: joined.failures,
      durationS,
      clients: await fleet.measure(durationS),
    };
  } finally {
    await fleet.stop();
  }
}
