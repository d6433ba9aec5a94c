import type { PeerConnection } from 'node-datachannel';
import { guarded } from '../binding/guard-callbacks.js';
import { withDeadline } from './deadline.js';

/**
 * Longest wait for the server's ICE candidates. The server gathers host
 * candidates only (no STUN/TURN), which takes milliseconds; past this the
 * description goes out with the candidates found so far.
 */
const GATHERING_TIMEOUT_MS = 2000;

/**
 * The connection's local description once ICE gathering is complete, with
 * every candidate in it: for clients that get no trickled candidates from the
 * server (WHIP and WHEP: the answer is all they get, RFC 9725 section 4.3.2).
 * Call after the local description was set (gathering starts with it).
 */
export async function describeWithCandidates(pc: PeerConnection): Promise<string> {
  if (pc.gatheringState() !== 'complete') {
    const gathered = withDeadline<void>((resolve) => {
      pc.onGatheringStateChange(guarded((state) => {
        if (state === 'complete') resolve();
      }));
      // Completed while the callback was being set: its event may never come.
      if (pc.gatheringState() === 'complete') resolve();
    }, GATHERING_TIMEOUT_MS, 'end of ICE gathering');
    // A timeout is no failure: the candidates found so far go out.
    await gathered.promise.catch(() => undefined);
  }
  const description = pc.localDescription();
  if (!description) throw new Error('the connection has no local description');
  return description.sdp;
}
