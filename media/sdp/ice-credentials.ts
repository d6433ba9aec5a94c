import { attribute, type Sdp } from './sdp.js';

/**
 * ICE credentials of a description (RFC 8839 section 5.4). libdatachannel's
 * ICE agent (libjuice) cannot restart ICE: once a connection has remote
 * credentials, a description with others is refused. Checking first lets the
 * client be told why, in words it can act on.
 */
export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

/** Every credential pair an SDP names: at session level and in each m-line that is not rejected. */
export function iceCredentials(sdp: Sdp): IceCredentials[] {
  const found: IceCredentials[] = [];
  const sessionUfrag = attribute(sdp.session, 'ice-ufrag');
  const sessionPwd = attribute(sdp.session, 'ice-pwd');
  if (sessionUfrag !== undefined || sessionPwd !== undefined) found.push({ ufrag: sessionUfrag ?? '', pwd: sessionPwd ?? '' });
  for (const media of sdp.media) {
    if (media.port === 0) continue;
    const ufrag = attribute(media.lines, 'ice-ufrag') ?? sessionUfrag;
    const pwd = attribute(media.lines, 'ice-pwd') ?? sessionPwd;
    if (ufrag !== undefined || pwd !== undefined) found.push({ ufrag: ufrag ?? '', pwd: pwd ?? '' });
  }
  return found;
}

/** Whether `next` names ICE credentials other than those of `current` (an ICE restart). */
export function restartsIce(current: Sdp, next: Sdp): boolean {
  const [established] = iceCredentials(current);
  if (!established) return false;
  return iceCredentials(next).some((c) => c.ufrag !== established.ufrag || c.pwd !== established.pwd);
}

export const ICE_RESTART_REFUSED =
  'ICE restart is not supported (this description has new a=ice-ufrag/a=ice-pwd): renegotiate with the connection\'s ICE credentials, or open a new connection';
