import { REALISTIC_PROFILE, type MediaProfile } from '../client/media-profile.js';
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
  /** Streams the receivers of all rooms should get: sum over receivers of tracks received. */
  expectedStreams: number;
}

/**
 * The scenario's participants; over `nodes` nodes, the subscribers are spread round robin over all of
 * them and the publishers join the first one; in a video meeting, where everyone publishes, everyone is
 * spread round robin.
 */
export function plan(name: ScenarioName, params: ScenarioParams, nodes = 1): ScenarioPlan {
  const { peers, expectedStreams } = planRooms(name, params, name !== 'audio-room');
  if (nodes > 1) {
    let next = 0;
    for (const peer of peers) peer.node = name === 'video-meeting' || !peer.publish ? next++ % nodes : 0;
  }
  // Publishers send only the kinds they publish: audio-room publishers take the profile's audio alone.
  return { peers, profile: REALISTIC_PROFILE, subscriberConnections: peers.length, expectedStreams };
}

/**
 * The participants of `params.rooms` rooms named PREFIX-1, PREFIX-2, …: in each, `publishers`
 * publishing audio (and video with `video`) and `subscribers` that only receive; and the streams
 * their receivers should get (publishers receive each other, subscribers receive every publisher).
 */
export function planRooms(prefix: string, params: ScenarioParams, video: boolean): { peers: PeerPlan[]; expectedStreams: number } {
  const peers: PeerPlan[] = [];
  for (let r = 1; r <= params.rooms; r++) {
    const room = `${prefix}-${r}`;
    for (let p = 1; p <= params.publishers; p++) peers.push({ room, identity: `pub-${p}`, publish: { audio: true, video } });
    for (let s = 1; s <= params.subscribers; s++) peers.push({ room, identity: `sub-${s}` });
  }
  const receivers = params.publishers * (params.publishers - 1) + params.subscribers * params.publishers;
  return { peers, expectedStreams: params.rooms * (video ? 2 : 1) * receivers };
}
