/**
 * Keys of the cluster state in its JetStream KV bucket. One bucket holds
 * every kind of record, so one watcher sees all changes in the order they
 * were written (a participant before its tracks, a track's removal before
 * its participant's):
 *
 *   rooms.<room>                        RoomRecord
 *   participants.<room>.<participantId> ParticipantRecord
 *   tracks.<room>.<trackId>             TrackRecord
 *   identities.<room>.<identity>        IdentityRecord (who holds the identity)
 *   nodes.<nodeId>                      NodeRecord (the node's heartbeat)
 *
 * Every token is a name or id of `[A-Za-z0-9_-]{1,64}`: no dots or wildcards.
 */
export const STATE_BUCKET = 'shoal_state';

/**
 * Elections of who removes what a gone node left (node-registry.ts): one key
 * `<nodeId>.<revision>.<round>` created per removal, never watched, expiring
 * after CLEANUP_TTL_MS.
 */
export const CLEANUP_BUCKET = 'shoal_cleanups';
export const CLEANUP_TTL_MS = 24 * 3600_000;

export type StateKind = 'room' | 'participant' | 'track' | 'identity' | 'node';

/** What a key names: `room` for room-scoped kinds, `id` the room, participant, track, identity or node. */
export interface StateKey {
  kind: StateKind;
  room: string;
  id: string;
}

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

const PREFIXES: { [K in StateKind]: string } = {
  room: 'rooms',
  participant: 'participants',
  track: 'tracks',
  identity: 'identities',
  node: 'nodes',
};

const KINDS = new Map<string, StateKind>(Object.entries(PREFIXES).map(([kind, prefix]) => [prefix, kind as StateKind]));

/** Whether `value` may be one token of a key (a name or an id). */
export function isKeyToken(value: string): boolean {
  return TOKEN.test(value);
}

export function roomKey(room: string): string {
  return `${PREFIXES.room}.${checked(room)}`;
}

export function participantKey(room: string, participantId: string): string {
  return `${PREFIXES.participant}.${checked(room)}.${checked(participantId)}`;
}

export function trackKey(room: string, trackId: string): string {
  return `${PREFIXES.track}.${checked(room)}.${checked(trackId)}`;
}

export function identityKey(room: string, identity: string): string {
  return `${PREFIXES.identity}.${checked(room)}.${checked(identity)}`;
}

export function nodeKey(nodeId: string): string {
  return `${PREFIXES.node}.${checked(nodeId)}`;
}

export function cleanupKey(nodeId: string, revision: number, round: number): string {
  return `${checked(nodeId)}.${revision}.${round}`;
}

/** Reads a key of the bucket; undefined for anything that is not one of ours (a key written by someone else is ignored, not trusted). */
export function parseStateKey(key: string): StateKey | undefined {
  const tokens = key.split('.');
  const kind = KINDS.get(tokens[0]!);
  if (!kind || !tokens.slice(1).every((t) => TOKEN.test(t))) return undefined;
  if (kind === 'room' || kind === 'node') return tokens.length === 2 ? { kind, room: kind === 'room' ? tokens[1]! : '', id: tokens[1]! } : undefined;
  return tokens.length === 3 ? { kind, room: tokens[1]!, id: tokens[2]! } : undefined;
}

function checked(token: string): string {
  if (!TOKEN.test(token)) throw new Error(`"${token}" cannot be part of a state key`);
  return token;
}
