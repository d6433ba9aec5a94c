/**
 * The NATS subjects of media between nodes (docs/cluster.md). Node and track
 * ids are `[A-Za-z0-9_-]{1,64}`: always one subject token.
 */

/** A track's RTP (and packets sent again for NACKs), published by its owner node only while another node wants it. */
export function rtpSubject(trackId: string): string {
  return `shoal.rtp.${trackId}`;
}

/** Feedback (PLI, FIR, NACK) for a track, to its owner node, which subscribes to `feedbackSubject(self, '*')`. */
export function feedbackSubject(ownerNodeId: string, trackId: string): string {
  return `shoal.fb.${ownerNodeId}.${trackId}`;
}

/** The leases other nodes hold on the owner node's tracks (TrackWants). */
export function wantSubject(ownerNodeId: string): string {
  return `shoal.want.${ownerNodeId}`;
}

const ID_TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether a node or track id from the network can stand in a subject (and be trusted as a map key). */
export function isIdToken(id: string): boolean {
  return ID_TOKEN.test(id);
}

/** The track id of a feedback subject of this node, or undefined. */
export function feedbackTrackId(subject: string, prefix: string): string | undefined {
  if (!subject.startsWith(prefix)) return undefined;
  const trackId = subject.slice(prefix.length);
  return isIdToken(trackId) ? trackId : undefined;
}
