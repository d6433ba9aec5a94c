import { REALISTIC_PROFILE, withoutVideo, type MediaProfile } from '../client/media-profile.js';
import type { PeerPlan } from './fleet-protocol.js';

export type ScenarioName = 'audio-room' | 'video-meeting' | 'livestream';
export const SCENARIOS: readonly ScenarioName[] = ['audio-room', 'video-meeting', 'livestream'];

/** The knobs of a scenario; what a knob means depends on the scenario (see `plan`). */
export interface ScenarioParams {
  /** Rooms, each with the same participants (spreads load over workers). */
  rooms: number;
  publishers: number;
  /** Participants that only receive. */
  subscribers: number;
}

export const DEFAULT_PARAMS: Record<ScenarioName, ScenarioParams> = {
  // Modelled on the large-room audio benchmarks other SFUs publish: few speakers, many listeners.
  'audio-room': { rooms: 1, publishers: 3, subscribers: 50 },
  // Everyone publishes audio and video and receives everyone else.
  'video-meeting': { rooms: 1, publishers: 6, subscribers: 0 },
  // One publisher of audio and video, many viewers.
  livestream: { rooms: 1, publishers: 1, subscribers: 30 },
};

export interface ScenarioPlan {
  peers: PeerPlan[];
  profile: MediaProfile;
  /** Participants that receive (every participant has a subscriber connection). */
  subscriberConnections: number;
  /** Streams each room's receivers should get: sum over receivers of tracks received. */
  expectedStreams: number;
}

export function plan(name: ScenarioName, params: ScenarioParams): ScenarioPlan {
  const peers: PeerPlan[] = [];
  const video = name !== 'audio-room';
  const tracksPerPublisher = video ? 2 : 1;
  let expectedStreams = 0;
  for (let r = 1; r <= params.rooms; r++) {
    const room = `${name}-${r}`;
    for (let p = 1; p <= params.publishers; p++) peers.push({ room, identity: `pub-${r}-${p}`, publish: { audio: true, video } });
    for (let s = 1; s <= params.subscribers; s++) peers.push({ room, identity: `sub-${r}-${s}` });
    // Publishers receive each other; subscribers receive all publishers.
    expectedStreams += tracksPerPublisher * (params.publishers * (params.publishers - 1) + params.subscribers * params.publishers);
  }
  return {
    peers,
    profile: video ? REALISTIC_PROFILE : withoutVideo(REALISTIC_PROFILE),
    subscriberConnections: peers.length,
    expectedStreams,
  };
}
