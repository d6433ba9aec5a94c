/**
 * SDP fragments (RFC 8840, media type application/trickle-ice-sdpfrag): what
 * a WHIP or WHEP client sends in a PATCH to trickle candidates or to restart
 * ICE. Only what the server acts on is read: ICE credentials, each
 * candidate with the mid of its m= section, and end-of-candidates; other
 * lines (a=group, a=ice-options, m= lines themselves) are allowed and
 * skipped.
 */

export class SdpFragmentError extends Error {
  override readonly name = 'SdpFragmentError';
}

export interface SdpFragment {
  /** ICE credentials named in the fragment (at session or media level), if any. */
  ufrag?: string;
  pwd?: string;
  /** The candidates ("candidate:..." without "a="), each with the mid of its m= section (undefined before any). */
  candidates: Array<{ candidate: string; mid: string | undefined }>;
  endOfCandidates: boolean;
}

export function parseSdpFragment(text: string, maxCandidates: number): SdpFragment {
  const fragment: SdpFragment = { candidates: [], endOfCandidates: false };
  let mid: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if (!/^[a-z]=/.test(line)) throw new SdpFragmentError(`not an SDP line: ${JSON.stringify(line.slice(0, 80))}`);
    if (line.startsWith('m=')) {
      mid = undefined;
    } else if (line.startsWith('a=mid:')) {
      mid = line.slice('a=mid:'.length).trim();
    } else if (line.startsWith('a=ice-ufrag:')) {
      fragment.ufrag = credential(fragment.ufrag, line.slice('a=ice-ufrag:'.length), 'ice-ufrag');
    } else if (line.startsWith('a=ice-pwd:')) {
      fragment.pwd = credential(fragment.pwd, line.slice('a=ice-pwd:'.length), 'ice-pwd');
    } else if (line.startsWith('a=candidate:')) {
      if (fragment.candidates.length >= maxCandidates) throw new SdpFragmentError(`more than ${maxCandidates} candidates in one fragment`);
      fragment.candidates.push({ candidate: line.slice(2), mid });
    } else if (line === 'a=end-of-candidates') {
      fragment.endOfCandidates = true;
    }
  }
  return fragment;
}

/** One credential value; the fragment must not name two different ones (it describes one ICE session). */
function credential(previous: string | undefined, value: string, name: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new SdpFragmentError(`empty a=${name}`);
  if (previous !== undefined && previous !== trimmed) throw new SdpFragmentError(`two different a=${name} values`);
  return trimmed;
}
