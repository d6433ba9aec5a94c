import { setTimeout as sleep } from 'node:timers/promises';
import { signAccessToken, type SigningKey } from '../../control/auth/access-token.js';
import { REALISTIC_PROFILE } from '../client/media-profile.js';
import type { ClientMeasurement } from '../report/types.js';
import { ClientFleet } from './client-fleet.js';
import { planRooms } from './scenarios.js';

/** Added to ramp-up and duration for the lifetime of the participants' tokens, s. */
const TOKEN_SLACK_S = 600;
/** How long the streams may take to arrive after the last join. */
const STREAMS_TIMEOUT_MS = 15_000;

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
  /** Signs an access token for every participant, for a deployment that requires them. */
  signingKey?: SigningKey;
  onProgress?: (doneS: number, totalS: number, extra: string) => void;
}

export interface LoadtestResult {
  url: string;
  rooms: number;
  publishersPerRoom: number;
  subscribersPerRoom: number;
  joined: number;
  failures: string[];
  /** Streams the receivers should get, and how many arrived before measuring. */
  streamsExpected: number;
  streamsReceiving: number;
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
  const { peers, expectedStreams } = planRooms(options.roomPrefix, options, options.video);
  if (options.signingKey) {
    const now = Math.floor(Date.now() / 1000);
    // Valid for the whole run; a token is only checked when its participant joins.
    const exp = now + options.rampUpS + options.durationS + TOKEN_SLACK_S;
    for (const peer of peers) {
      peer.token = signAccessToken({ room: peer.room, identity: peer.identity, grants: ['publish', 'subscribe', 'data'], iat: now, exp }, options.signingKey);
    }
  }
  const fleet = ClientFleet.start(Math.max(1, Math.min(options.clientProcesses, peers.length)));
  try {
    const perProcess = Math.ceil(peers.length / Math.max(1, options.clientProcesses));
    const rampMs = perProcess > 1 ? (options.rampUpS * 1000) / perProcess : 0;
    const joined = await fleet.join([options.url], peers, {
      profile: REALISTIC_PROFILE,
      rampMs,
      timeoutMs: options.rampUpS * 1000 + 60_000,
    });
    // Let the last subscribers' renegotiations settle before counting: until every stream arrives.
    const receiving = await fleet.waitForStreams(expectedStreams, STREAMS_TIMEOUT_MS);
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
      streamsExpected: expectedStreams,
      streamsReceiving: receiving,
      durationS,
      clients: (await fleet.measure(durationS)).clients,
    };
  } finally {
    await fleet.stop();
  }
}
