import { TRANSPORT_CC_URI } from '../rtp/transport-cc.js';
import { takeCandidates } from './candidates.js';
import { chooseCodec, type CodecParameters } from './codecs.js';
import { offeredRtx, type OfferedRtx } from './publisher-rtx.js';
import { attribute, attributes, isRejected, mediaDirection, mediaMid, parseSdp, rejectMedia, SdpError, writeSdp, type Sdp, type SdpMedia } from './sdp.js';

/** A track a publisher's offer will send, as this SFU will receive it. */
export interface OfferedTrack {
  mid: string;
  kind: 'audio' | 'video';
  codec: CodecParameters;
  /** The media SSRC the offer signals (a=ssrc), if it signals one. */
  ssrc?: number;
  /** The RTX stream kept with the codec (the publisher answers this SFU's NACKs on it), if any. */
  rtx?: OfferedRtx;
  /** The id of the transport-cc header extension, when it is kept (`keepTransportCc`) and offered. */
  transportCcId?: number;
}

/** Header extensions removed from offers: transport-cc (unless kept: this SFU sends REMB instead) and simulcast stream ids. */
const REMOVED_EXTENSIONS = new Set([
  TRANSPORT_CC_URI,
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
]);
const MAX_MID_LENGTH = 32;
/** Attributes an m-line carries at most once (RFC 8843, RFC 8839, RFC 8842). */
const UNIQUE_MEDIA_ATTRIBUTES = ['mid', 'ice-ufrag', 'ice-pwd', 'setup'];

/**
 * Checks a publisher's offer and rewrites it into the offer this SFU answers:
 * - each audio/video m-line keeps one codec, the first one the publisher
 *   prefers among those forwarded (`chooseCodec`), and its RTX stream when
 *   the codec has generic NACK and the RTX SSRC is signalled (`offeredRtx`);
 *   RED, FEC and other RTX go;
 * - transport-cc is removed (extmap and rtcp-fb), so the publisher's
 *   congestion control runs on the REMB this SFU sends; with
 *   `keepTransportCc` (--publisher-feedback twcc) it is kept instead, and this
 *   SFU sends transport-cc feedback;
 * - simulcast (rid, simulcast, ssrc-group) is removed: one stream per m-line
 *   (the RTX SSRC's a=ssrc lines stay: libdatachannel routes by them; an
 *   ssrc-group would be copied into its answer);
 * - m-lines with no forwardable codec are rejected (port 0);
 * - bundle-only m-lines (port 0 with a=bundle-only: JSEP max-bundle,
 *   GStreamer's webrtcbin) are live and published like any other;
 * - a=candidate lines are taken out, to be checked and counted like trickled ones.
 * Throws SdpError with a message for the client when the offer is unusable.
 */
export function preparePublisherOffer(text: string, keepTransportCc = false): {
  sdp: string;
  tracks: OfferedTrack[];
  mids: string[];
  /** Audio and video m-lines the client wants to send on (those with no forwardable codec too). */
  sendingMLines: number;
  /** The offer's a=candidate lines (removed from `sdp`), with their m-line's mid. */
  candidates: Array<[string, string]>;
} {
  const sdp = parseSdp(text);
  const candidates = takeCandidates(sdp);
  if (sdp.media.length === 0) throw new SdpError('offer has no m= line');
  const mids = checkMLines(sdp);
  const tracks: OfferedTrack[] = [];
  let sendingMLines = 0;
  for (const [index, media] of sdp.media.entries()) {
    const mid = mids[index]!;
    if (media.kind === 'application' || isRejected(media)) continue;
    const direction = mediaDirection(media);
    if ((media.kind === 'audio' || media.kind === 'video') && (direction === 'sendonly' || direction === 'sendrecv')) sendingMLines++;
    const track = rewriteMedia(media, mid, keepTransportCc);
    if (track) tracks.push(track);
  }
  return { sdp: writeSdp(sdp), tracks, mids, sendingMLines, candidates };
}

/**
 * Checks what every offer needs whoever answers it, and returns the mids in
 * m-line order: each m-line has an a=mid of 1 to 32 characters without
 * whitespace, unique in the offer; no m-line has two a=mid, ICE credentials or
 * a=setup; an m-line that is not rejected has ICE credentials and a
 * fingerprint, its own or the session's. Throws SdpError otherwise.
 */
export function checkMLines(sdp: Sdp): string[] {
  const sessionHas = (name: string) => attribute(sdp.session, name) !== undefined;
  const mids = new Set<string>();
  for (const media of sdp.media) {
    const mid = mediaMid(media);
    if (mid === undefined || mid.length === 0 || mid.length > MAX_MID_LENGTH || /\s/.test(mid)) {
      throw new SdpError(`every m-line needs an a=mid of 1 to ${MAX_MID_LENGTH} characters`);
    }
    // Which of several the WebRTC stack would take is not ours to guess: the track could never be matched.
    for (const name of UNIQUE_MEDIA_ATTRIBUTES) {
      if (attributes(media.lines, name).length > 1) throw new SdpError(`m-line "${mid}" has more than one a=${name}`);
    }
    if (mids.has(mid)) throw new SdpError(`duplicate mid "${mid}"`);
    mids.add(mid);
    for (const name of ['ice-ufrag', 'ice-pwd', 'fingerprint']) {
      if (media.port !== 0 && !sessionHas(name) && attribute(media.lines, name) === undefined) {
        throw new SdpError(`m-line "${mid}" has no a=${name}`);
      }
    }
  }
  return [...mids];
}

function rewriteMedia(media: SdpMedia, mid: string, keepTransportCc: boolean): OfferedTrack | undefined {
  const direction = mediaDirection(media);
  const codec = media.kind === 'audio' || media.kind === 'video' ? chooseCodec(media) : undefined;
  if (!codec || direction === 'recvonly' || direction === 'inactive') {
    rejectMedia(media);
    return undefined;
  }
  const ssrc = primarySsrc(media);
  const pt = String(codec.payloadType);
  const rtx = codec.rtcpFeedback.includes('nack') ? offeredRtx(media, codec.payloadType, ssrc) : undefined;
  const rtxPt = rtx ? String(rtx.payloadType) : undefined;
  const transportCcId = keepTransportCc ? extensionId(media, TRANSPORT_CC_URI) : undefined;
  const removed = (uri: string) => REMOVED_EXTENSIONS.has(uri) && !(uri === TRANSPORT_CC_URI && transportCcId !== undefined);
  const removedExtensionIds = new Set(
    attributes(media.lines, 'extmap')
      .filter((v) => removed(v.split(' ')[1] ?? ''))
      .map((v) => v.split(/[ /]/)[0]),
  );
  media.formats = rtxPt ? [pt, rtxPt] : [pt];
  media.lines = media.lines.filter((line) => {
    const payloadSpecific = /^a=(rtpmap|fmtp|rtcp-fb):(\S+) ?(.*)$/.exec(line);
    if (payloadSpecific) {
      if (payloadSpecific[2] === rtxPt) return payloadSpecific[1] !== 'rtcp-fb';
      if (payloadSpecific[2] !== pt && payloadSpecific[2] !== '*') return false;
      const feedback = payloadSpecific[3] ?? '';
      return payloadSpecific[1] !== 'rtcp-fb' || codec.rtcpFeedback.includes(feedback) || (feedback === 'transport-cc' && transportCcId !== undefined);
    }
    if (line.startsWith('a=extmap:')) return !removedExtensionIds.has(line.slice(9).split(/[ /]/)[0]);
    if (/^a=(rid|simulcast|ssrc-group):/.test(line)) return false;
    if (line.startsWith('a=ssrc:')) return (ssrc !== undefined && line.startsWith(`a=ssrc:${ssrc} `)) || (rtx !== undefined && line.startsWith(`a=ssrc:${rtx.ssrc} `));
    return true;
  });
  return {
    mid,
    kind: media.kind as 'audio' | 'video',
    codec,
    ...(ssrc !== undefined ? { ssrc } : {}),
    ...(rtx ? { rtx } : {}),
    ...(transportCcId !== undefined ? { transportCcId } : {}),
  };
}

/** The id (1-255) an m-line's a=extmap gives the header extension `uri`, if it names it once with a valid id. */
function extensionId(media: SdpMedia, uri: string): number | undefined {
  const ids = attributes(media.lines, 'extmap')
    .map((v) => v.trim().split(/\s+/))
    .filter((words) => words[1] === uri)
    .map((words) => Number(words[0]!.split('/')[0]));
  const id = ids[0];
  return ids.length === 1 && id !== undefined && Number.isInteger(id) && id >= 1 && id <= 255 ? id : undefined;
}

/** The media SSRC of an m-line: first of its FID group, else the first a=ssrc. */
function primarySsrc(media: SdpMedia): number | undefined {
  const fid = attributes(media.lines, 'ssrc-group').find((v) => v.startsWith('FID '));
  const first = fid ? fid.split(' ')[1] : attribute(media.lines, 'ssrc')?.split(' ')[0];
  const value = Number(first);
  return first !== undefined && Number.isInteger(value) && value >= 0 && value <= 0xffffffff ? value : undefined;
}
