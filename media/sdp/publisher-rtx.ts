import { attributes, type SdpMedia } from './sdp.js';

/** The RTX stream (RFC 4588) a publisher's m-line offers for its media stream. */
export interface OfferedRtx {
  payloadType: number;
  ssrc: number;
}

/**
 * The RTX stream an offered m-line pairs with the codec of `payloadType` sent
 * on `mediaSsrc`: an `rtx` payload type whose `apt` is that codec's, and an
 * `a=ssrc-group:FID <media> <rtx>` naming the RTX SSRC, itself described by
 * `a=ssrc` lines. libdatachannel hands a packet to a track by the SSRCs its
 * m-line signals: an RTX SSRC the offer does not name would never arrive, so
 * RTX is only kept with one (otherwise the publisher resends on the media SSRC).
 */
export function offeredRtx(media: SdpMedia, payloadType: number, mediaSsrc: number | undefined): OfferedRtx | undefined {
  if (mediaSsrc === undefined) return undefined;
  const rtxPayloadTypes = new Set(
    attributes(media.lines, 'rtpmap')
      .map((value) => /^(\d+) rtx\/\d+$/i.exec(value.trim()))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1])),
  );
  const rtxPayloadType = attributes(media.lines, 'fmtp')
    .map((value) => /^(\d+) (?:.*;)?\s*apt=(\d+)\s*(?:;.*)?$/.exec(value.trim()))
    .find((match) => match !== null && rtxPayloadTypes.has(Number(match[1])) && Number(match[2]) === payloadType);
  if (!rtxPayloadType || !media.formats.includes(rtxPayloadType[1]!)) return undefined;
  const group = attributes(media.lines, 'ssrc-group')
    .map((value) => value.trim().split(/\s+/))
    .find((parts) => parts[0] === 'FID' && parts.length === 3 && Number(parts[1]) === mediaSsrc);
  const ssrc = Number(group?.[2]);
  if (!group || !/^\d+$/.test(group[2]!) || ssrc > 0xffffffff || ssrc === mediaSsrc) return undefined;
  if (!attributes(media.lines, 'ssrc').some((value) => value.startsWith(`${ssrc} `))) return undefined;
  return { payloadType: Number(rtxPayloadType[1]), ssrc };
}
