/**
 * The demo page (index.html): join a room with camera and microphone, see and
 * hear everyone else in a grid. Everything media goes through ShoalClient.
 * With several node URLs (the Nodes field, or `?nodes=ws://a/ws,ws://b/ws`)
 * the client rejoins through another node when its node is lost; the status
 * line shows the reconnecting state meanwhile.
 *
 * The page is in one phase at a time: `idle` (the form can be edited),
 * `joining`, `joined` (room, identity, token and nodes are locked; mute,
 * camera and leave work) and back to `idle` whatever ends the session (the
 * Leave button, REPLACED, a refused rejoin, a node lost for good, a failure
 * while joining): the camera and microphone are stopped then, and the status
 * line says why.
 */
import { nameProblem } from './names.js';
import { ShoalClient, type RemoteTrack } from './shoal-client.js';

interface Tile {
  element: HTMLElement;
  video: HTMLVideoElement;
  /** The participant's received tracks, one stream per tile whatever streams they came in. */
  stream: MediaStream;
}

type Phase = 'idle' | 'joining' | 'joined';

declare global {
  interface Window {
    /** The page's state, for debugging in the console and for the browser tests. */
    shoalDemo: { client: ShoalClient | undefined; localStream: MediaStream | undefined; phase: Phase };
  }
}

/**
 * Rejoin attempts after losing the node before the page gives up and says
 * "Disconnected": about 8 s of back-off in all (docs/signaling.md section 10),
 * enough for a restarting node or for another node of `?nodes=`.
 */
const REJOIN_ATTEMPTS = 5;

const form = document.querySelector<HTMLFormElement>('#join-form')!;
const fields = document.querySelector<HTMLFieldSetElement>('#session-fields')!;
const joinButton = document.querySelector<HTMLButtonElement>('#join')!;
const muteButton = document.querySelector<HTMLButtonElement>('#mute')!;
const cameraButton = document.querySelector<HTMLButtonElement>('#camera')!;
const leaveButton = document.querySelector<HTMLButtonElement>('#leave')!;
const status = document.querySelector<HTMLElement>('#status')!;
const grid = document.querySelector<HTMLElement>('#grid')!;
const roomInput = form.elements.namedItem('room') as HTMLInputElement;
const identityInput = form.elements.namedItem('identity') as HTMLInputElement;
const tokenInput = form.elements.namedItem('token') as HTMLInputElement;
const nodesInput = form.elements.namedItem('nodes') as HTMLInputElement;

const state: Window['shoalDemo'] = { client: undefined, localStream: undefined, phase: 'idle' };
window.shoalDemo = state;
const tiles = new Map<string, Tile>();
/** Counts sessions: work of a session that has ended (an await that comes back late) sees a newer number and stops. */
let session = 0;

const params = new URLSearchParams(location.search);
roomInput.value = params.get('room') ?? roomInput.value;
identityInput.value = params.get('identity') ?? `guest-${Math.random().toString(36).slice(2, 7)}`;
tokenInput.value = params.get('token') ?? '';
nodesInput.value = params.get('nodes') ?? '';

/** Why this page cannot get a camera and microphone, or undefined when it can. */
function mediaProblem(): string | undefined {
  if (!window.isSecureContext) {
    return (
      `Camera and microphone need a secure context, and ${location.origin} is not one: browsers give them only to pages ` +
      'served over https, or over http from localhost. Open this page through https (a reverse proxy, or shoal serve ' +
      '--tls-cert/--tls-key: docs/deploy.md), or from http://localhost on the node\'s machine.'
    );
  }
  if (!navigator.mediaDevices?.getUserMedia) return 'This browser gives pages no camera or microphone (navigator.mediaDevices.getUserMedia is missing).';
  return undefined;
}

function signalingUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

/** The Nodes field: signaling URLs separated by commas or spaces; this page's node when empty. */
function nodeUrls(): string[] {
  const urls = nodesInput.value.split(/[\s,]+/).filter((url) => url !== '');
  const bad = urls.find((url) => !/^wss?:\/\/[^\s/]+/.test(url));
  if (bad) throw new Error(`not a ws:// or wss:// URL: ${bad}`);
  return urls.length > 0 ? urls : [signalingUrl()];
}

/** The status line; `reconnecting` and `problem` style it. */
function setStatus(text: string, look: 'info' | 'reconnecting' | 'problem' = 'info'): void {
  status.textContent = text;
  status.classList.toggle('reconnecting', look === 'reconnecting');
  status.classList.toggle('problem', look === 'problem');
}

/** Locks what must not change during a session, and enables what only works in one. */
function setPhase(phase: Phase): void {
  state.phase = phase;
  fields.disabled = phase !== 'idle';
  joinButton.disabled = phase !== 'idle' || mediaProblem() !== undefined;
  leaveButton.disabled = phase === 'idle';
  muteButton.disabled = cameraButton.disabled = phase !== 'joined';
  if (phase === 'idle') {
    showSending('audio', true);
    showSending('video', true);
  }
}

/** A name problem of the room or identity field, shown on the field and in the status line; undefined when both are valid. */
function checkNames(): string | undefined {
  let first: string | undefined;
  for (const [input, what] of [[roomInput, 'room'], [identityInput, 'identity']] as const) {
    const value = input.value.trim();
    // With a token the node takes the identity from it: an empty identity field is fine then.
    const problem = what === 'identity' && value === '' && tokenInput.value.trim() !== '' ? undefined : nameProblem(what, value);
    input.setCustomValidity(problem ?? '');
    first ??= problem && `Invalid ${what}: ${problem}`;
  }
  return first;
}

function addTile(id: string, label: string, local = false): Tile {
  const existing = tiles.get(id);
  if (existing) return existing;
  const element = document.createElement('figure');
  element.className = local ? 'tile local' : 'tile';
  element.dataset.participant = id;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = local; // never play our own microphone back
  const caption = document.createElement('figcaption');
  caption.textContent = label;
  element.append(video, caption);
  grid.append(element);
  const stream = new MediaStream();
  video.srcObject = stream;
  const tile = { element, video, stream };
  tiles.set(id, tile);
  return tile;
}

function removeTile(id: string): void {
  tiles.get(id)?.element.remove();
  tiles.delete(id);
}

function onTrackAdded(remote: RemoteTrack): void {
  const tile = addTile(remote.participantId, remote.identity || remote.participantId);
  tile.stream.addTrack(remote.track);
  // A stream that gains a track after playback started needs a nudge in some browsers.
  tile.video.srcObject = tile.stream;
  tile.video.play().catch(() => undefined);
}

function onTrackRemoved(remote: RemoteTrack): void {
  const tile = tiles.get(remote.participantId);
  if (!tile) return;
  tile.stream.removeTrack(remote.track);
  if (tile.stream.getTracks().length === 0) removeTile(remote.participantId);
}

function describeError(error: unknown): string {
  // getUserMedia's refusals (NotAllowedError, NotFoundError, ...) first: a DOMException has a (numeric, legacy) code too.
  if (error instanceof DOMException) return `${error.name}: ${error.message}`;
  if (error instanceof Error && 'code' in error) return `${String(error.code)}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

async function join(room: string, identity: string, token: string): Promise<void> {
  const mine = ++session;
  const current = () => mine === session;
  setPhase('joining');
  setStatus('Starting camera and microphone…');
  try {
    const local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
    if (!current()) {
      // Left (or ended) while the browser was asking: the camera must not stay on.
      stopTracks(local);
      return;
    }
    state.localStream = local;
    const self = addTile('local', `${identity || 'you'} (you)`, true);
    for (const track of local.getTracks()) self.stream.addTrack(track);

    setStatus('Connecting…');
    const client = await ShoalClient.connect(nodeUrls());
    if (!current()) {
      client.close();
      return;
    }
    state.client = client;
    client.on('trackadded', onTrackAdded);
    client.on('trackremoved', onTrackRemoved);
    client.on('participantleft', ({ participantId }) => removeTile(participantId));
    client.on('error', (error) => setStatus(`Error: ${error.code}: ${error.message}`, 'problem'));
    client.on('reconnecting', ({ reason, message, attempt, url, previousAttemptError }) => {
      if (attempt > REJOIN_ATTEMPTS) {
        void endSession(mine, `Disconnected: lost the node (${reason}: ${message}); no node took this session back in ${REJOIN_ATTEMPTS} attempts (the last: ${previousAttemptError ?? 'no answer'})`);
      } else {
        setStatus(`Reconnecting (${reason}): attempt ${attempt} of ${REJOIN_ATTEMPTS} through ${url}…`, 'reconnecting');
      }
    });
    client.on('reconnected', ({ url, downtimeMs }) =>
      setStatus(`In room "${room}" as ${client.identity} through ${url} (reconnected after ${(downtimeMs / 1000).toFixed(1)} s)`),
    );
    client.on('left', ({ reason, message }) => void endSession(mine, `Disconnected: ${reason}: ${message}`));
    client.on('close', ({ code, reason }) => void endSession(mine, `Disconnected: ${reason} (WebSocket close code ${code})`));
    await client.join(room, identity, token ? { token } : {});
    if (!current()) return;
    await client.publish(local);
    if (!current()) return;
    setPhase('joined');
    setStatus(`In room "${room}" as ${client.identity} through ${client.url}`);
  } catch (error) {
    await endSession(mine, `Could not join: ${describeError(error)}`);
  }
}

/**
 * Ends session `which` if it is still the current one: leaves the room,
 * closes the client, stops the camera and microphone, clears the grid, and
 * shows `message`. Later calls for the same session do nothing.
 */
async function endSession(which: number, message: string): Promise<void> {
  if (which !== session) return;
  session++;
  const client = state.client;
  state.client = undefined;
  stopTracks(state.localStream);
  state.localStream = undefined;
  for (const id of [...tiles.keys()]) removeTile(id);
  setPhase('idle');
  setStatus(message, message === 'Left the room' ? 'info' : 'problem');
  if (client) {
    if (client.state === 'joined' || client.state === 'reconnecting') await client.leave().catch(() => undefined);
    client.close();
  }
}

function stopTracks(stream: MediaStream | undefined): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/**
 * Mute and camera off: the local track is disabled (`track.enabled = false`),
 * and stays published. The browser then sends silence and black frames, so
 * the others hear nothing and see a black tile; no renegotiation, and the
 * track comes back at once when enabled again (across a rejoin too: the same
 * track is published again).
 */
function toggleSending(kind: 'audio' | 'video'): void {
  const tracks = state.localStream?.getTracks().filter((track) => track.kind === kind) ?? [];
  if (tracks.length === 0) return;
  const enabled = !tracks[0]!.enabled;
  for (const track of tracks) track.enabled = enabled;
  showSending(kind, enabled);
}

function showSending(kind: 'audio' | 'video', enabled: boolean): void {
  const button = kind === 'audio' ? muteButton : cameraButton;
  button.setAttribute('aria-pressed', String(!enabled));
  button.textContent = kind === 'audio' ? (enabled ? 'Mute' : 'Unmute') : enabled ? 'Camera off' : 'Camera on';
  tiles.get('local')?.element.classList.toggle(kind === 'audio' ? 'muted' : 'camera-off', !enabled);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (state.phase !== 'idle') return;
  const problem = mediaProblem() ?? checkNames();
  if (problem) {
    setStatus(problem, 'problem');
    form.reportValidity();
    return;
  }
  void join(roomInput.value.trim(), identityInput.value.trim(), tokenInput.value.trim());
});
for (const input of [roomInput, identityInput]) {
  input.addEventListener('input', () => {
    if (input.validationMessage) checkNames();
  });
}
leaveButton.addEventListener('click', () => void endSession(session, 'Left the room'));
muteButton.addEventListener('click', () => toggleSending('audio'));
cameraButton.addEventListener('click', () => toggleSending('video'));

setPhase('idle');
const problem = mediaProblem();
if (problem) setStatus(problem, 'problem');
