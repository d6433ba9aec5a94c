import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Ids of the cluster. Node ids name a node across restarts (they appear in
 * store keys and NATS subjects); participant and track ids are minted with 96
 * random bits, so they are unique across the cluster and never reused.
 */
export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** The default node id: the host name, reduced to the characters subjects and keys allow. */
export function defaultNodeId(host = hostname()): string {
  const cleaned = host.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return cleaned === '' ? 'node' : cleaned;
}

/** Why `id` cannot name a node, or undefined when it can. */
export function nodeIdProblem(id: string): string | undefined {
  return NODE_ID_PATTERN.test(id) ? undefined : `node id "${id}" must be 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-"`;
}

export function newParticipantId(): string {
  return `PA_${randomBytes(12).toString('hex')}`;
}

export function newTrackId(): string {
  return `TR_${randomBytes(12).toString('hex')}`;
}
