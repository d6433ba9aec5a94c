/**
 * The demo page (index.html): join a room with camera and microphone, see and
 * hear everyone else in a grid. Everything media goes through ShoalClient.
 * With several node URLs (the Nodes field, or `?nodes=ws://a/ws,ws://b/ws`)
 * the client rejoins through another node when its node is lost; the status
 * line shows the reconnecting state meanwhile.
 */
import { ShoalClient, type RemoteTrack } from './shoal-client.js';

interface Tile {
  element: HTMLElement;
  video: HTMLVideoElement;
  /** The participant's received tracks, one stream per tile whatever streams they came in. */
  stream: MediaStream;
}

declare global {
  interface Window {
    /** The page's state, for debugging in the console and for the browser tests. */
    shoalDemo: { client: ShoalClient | undefined; localStream: MediaStream | undefined };
  }
}

const form = document.querySelector<HTMLFormElement>('#join-form')!;
const joinButton = document.querySelector<HTMLButtonElement>('#join')!;
const leaveButton = document.querySelector<HTMLButtonElement>('#leave')!;
const status = document.querySelector<HTMLElement>('#status')!;
const grid = document.querySelector<HTMLElement>('#grid')!;
const roomInput = form.elements.namedItem('room') as HTMLInputElement;
const identityInput = form.elements.namedItem('identity') as HTMLInputElement;
const tokenInput = form.elements.namedItem('token') as HTMLInputElement;
const nodesInput = form.elements.namedItem('nodes') as HTMLInputElement;

const state: Window['shoalDemo'] = { client: undefined, localStream: undefined };
window.shoalDemo = state;
const tiles = new Map<string, Tile>();

const params = new URLSearchParams(location.search);
roomInput.value = params.get('room') ?? roomInput.value;
identityInput.value = params.get('identity') ?? `guest-${Math.random().toString(36).slice(2, 7)}`;
tokenInput.value = params.get('token') ?? '';
nodesInput.value = params.get('nodes') ?? '';

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

function setStatus(text: string, reconnecting = false): void {
  status.textContent = text;
  status.classList.toggle('reconnecting', reconnecting);
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

async function join(room: string, identity: string, token: string): Promise<void> {
  joinButton.disabled = true;
  setStatus('Starting camera and microphone…');
  try {
    const local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
    state.localStream = local;
    const self = addTile('local', `${identity} (you)`, true);
    for (const track of local.getTracks()) self.stream.addTrack(track);

    setStatus('Connecting…');
    const client = await ShoalClient.connect(nodeUrls());
    state.client = client;
    client.on('trackadded', onTrackAdded);
    client.on('trackremoved', onTrackRemoved);
    client.on('participantleft', ({ participantId }) => removeTile(participantId));
    client.on('error', (error) => setStatus(`Error: ${error.code} ${error.message}`));
    client.on('reconnecting', ({ reason, attempt, url }) =>
      setStatus(`Reconnecting (${reason}): attempt ${attempt} through ${url}…`, true),
    );
    client.on('reconnected', ({ url, downtimeMs }) =>
      setStatus(`In room "${room}" as ${identity} through ${url} (reconnected after ${(downtimeMs / 1000).toFixed(1)} s)`),
    );
    client.on('left', ({ reason, message }) => {
      if (state.client === client) void cleanUp(`Out of the room: ${reason} ${message}`);
    });
    client.on('close', () => {
      if (state.client === client) void cleanUp('Disconnected');
    });
    await client.join(room, identity, token ? { token } : {});
    await client.publish(local);
    leaveButton.disabled = false;
    setStatus(`In room "${room}" as ${identity} through ${client.url}`);
  } catch (error) {
    await cleanUp(`Could not join: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function cleanUp(message: string): Promise<void> {
  const client = state.client;
  state.client = undefined;
  if (client) {
    await client.leave().catch(() => undefined);
    client.close();
  }
  state.localStream?.getTracks().forEach((track) => track.stop());
  state.localStream = undefined;
  for (const id of [...tiles.keys()]) removeTile(id);
  leaveButton.disabled = true;
  joinButton.disabled = false;
  setStatus(message);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!form.reportValidity()) return;
  void join(roomInput.value, identityInput.value, tokenInput.value.trim());
});
leaveButton.addEventListener('click', () => void cleanUp('Left the room'));
