import { Command, Option } from 'clipanion';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import { runLoadtest, type LoadtestResult } from '../../bench/harness/loadtest.js';
import { withTimeout } from '../../bench/harness/with-timeout.js';
import { adaptive, fixed, integer as formatInteger, type Grid } from '../../bench/report/grids.js';
import { layoutGrid, progressDisplay } from '../../bench/report/table.js';
import { AuthOptionError, signingKey } from './auth-options.js';
import { booleanOption } from './env-flag.js';
import { countingNumber, wholeNumber } from './validators.js';

/** Added to ramp-up and duration: past this the load test gives up and exits. */
const GRACE_S = 120;
const REACH_TIMEOUT_MS = 10_000;

/** `shoal loadtest`: drives any Shoal deployment through its public signaling and reports what clients saw. */
export class LoadtestCommand extends Command {
  static override paths = [['loadtest']];

  static override usage = Command.Usage({
    description: 'Load-test a running Shoal deployment',
    details: `
      Runs synthetic participants (real node-datachannel peers, in client processes on this machine)
      against the deployment at --url, using only its public WebSocket signaling: --rooms rooms, each
      with --publishers publishing audio and, unless --no-video, video, and --subscribers receiving
      everything. They join over --ramp-up seconds; then the clients measure loss, one-way latency (every
      packet carries its send time; client and server clocks must agree, which they do on one machine),
      jitter, NACKs and PLIs for --duration seconds, leave, and the command exits. It stops by itself: at the latest ramp-up + duration + ${GRACE_S} s.
    `,
    examples: [['Ten rooms of one publisher and 20 viewers for a minute', '$0 loadtest --url ws://10.0.0.5:8080/ws --rooms 10 --subscribers 20 --duration 60']],
  });

  // Not `required`: clipanion would then insist on the flag and ignore the variable.
  url = Option.String('--url', { env: 'SHOAL_LOADTEST_URL', description: 'Signaling URL of the deployment, ws://HOST:PORT/ws (env SHOAL_LOADTEST_URL)' });
  rooms = Option.String('--rooms', '1', { env: 'SHOAL_LOADTEST_ROOMS', validator: countingNumber, description: 'Rooms; default 1 (env SHOAL_LOADTEST_ROOMS)' });
  roomPrefix = Option.String('--room-prefix', 'loadtest', { env: 'SHOAL_LOADTEST_ROOM_PREFIX', description: 'Room names are PREFIX-1, PREFIX-2, ...; default loadtest (env SHOAL_LOADTEST_ROOM_PREFIX)' });
  publishers = Option.String('--publishers', '1', { env: 'SHOAL_LOADTEST_PUBLISHERS', validator: wholeNumber, description: 'Publishers per room; default 1 (env SHOAL_LOADTEST_PUBLISHERS)' });
  subscribers = Option.String('--subscribers', '10', { env: 'SHOAL_LOADTEST_SUBSCRIBERS', validator: wholeNumber, description: 'Receive-only participants per room; default 10 (env SHOAL_LOADTEST_SUBSCRIBERS)' });
  video = Option.Boolean('--video', { description: 'Publishers send video (2.5 Mbit/s) besides audio; default yes, --no-video for audio only (env SHOAL_LOADTEST_VIDEO)' });
  duration = Option.String('--duration', '30', { env: 'SHOAL_LOADTEST_DURATION', validator: countingNumber, description: 'Measurement window, s; default 30 (env SHOAL_LOADTEST_DURATION)' });
  rampUp = Option.String('--ramp-up', '5', { env: 'SHOAL_LOADTEST_RAMP_UP', validator: wholeNumber, description: 'Time over which the participants join, s; default 5 (env SHOAL_LOADTEST_RAMP_UP)' });
  clientProcesses = Option.String('--client-processes', String(availableParallelism()), { env: 'SHOAL_LOADTEST_CLIENT_PROCESSES', validator: countingNumber, description: 'Client processes; default number of cores (env SHOAL_LOADTEST_CLIENT_PROCESSES)' });
  authSecret = Option.String('--auth-secret', { env: 'SHOAL_AUTH_SECRET', description: 'For a deployment that requires tokens: its shared secret, to sign one per participant (env SHOAL_AUTH_SECRET)' });
  authSecretFile = Option.String('--auth-secret-file', { env: 'SHOAL_AUTH_SECRET_FILE', description: 'File holding that secret instead (env SHOAL_AUTH_SECRET_FILE)' });
  privateKey = Option.String('--private-key', { env: 'SHOAL_AUTH_PRIVATE_KEY', description: 'Or the PEM private key whose public key the deployment checks tokens with (env SHOAL_AUTH_PRIVATE_KEY)' });
  out = Option.String('--out', { env: 'SHOAL_LOADTEST_OUT', description: 'Directory for a JSON file of the results (env SHOAL_LOADTEST_OUT)' });

  async execute(): Promise<number> {
    if (!this.url) {
      this.context.stderr.write('--url (or SHOAL_LOADTEST_URL) is required: the signaling URL, ws://HOST:PORT/ws\n');
      return 2;
    }
    if (!/^wss?:\/\//.test(this.url)) {
      this.context.stderr.write(`--url must be a ws:// or wss:// URL, not "${this.url}"\n`);
      return 2;
    }
    let signing;
    try {
      const keyOptions = { secret: this.authSecret, secretFile: this.authSecretFile, privateKeyFile: this.privateKey };
      signing = Object.values(keyOptions).some((v) => v !== undefined) ? signingKey(keyOptions) : undefined;
    } catch (error) {
      if (!(error instanceof AuthOptionError)) throw error;
      this.context.stderr.write(`${error.message}\n`);
      return 2;
    }
    // Fail fast on a wrong URL, before the clients ramp up and wait out the measurement window.
    const unreachable = await reachSignaling(this.url);
    if (unreachable) {
      this.context.stderr.write(`cannot reach ${this.url}: ${unreachable}\n`);
      return 1;
    }
    const limitS = Number(this.rampUp) + Number(this.duration) + GRACE_S;
    const watchdog = setTimeout(() => {
      this.context.stderr.write(`load test still running after ${limitS} s: giving up\n`);
      process.exit(1);
    }, limitS * 1000);
    watchdog.unref();
    const progress = progressDisplay(this.context.stderr as NodeJS.WriteStream);
    const result = await runLoadtest({
      url: this.url,
      rooms: Number(this.rooms),
      roomPrefix: this.roomPrefix,
      publishers: Number(this.publishers),
      subscribers: Number(this.subscribers),
      video: booleanOption(this.video, 'SHOAL_LOADTEST_VIDEO', true),
      durationS: Number(this.duration),
      rampUpS: Number(this.rampUp),
      clientProcesses: Number(this.clientProcesses),
      ...(signing ? { signingKey: signing } : {}),
      onProgress: (done, total, extra) => progress.show('loadtest', done, total, extra),
    });
    clearTimeout(watchdog);
    progress.end();
    this.context.stdout.write(renderLoadtest(result));
    if (this.out) {
      mkdirSync(this.out, { recursive: true });
      const file = join(this.out, `loadtest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
      this.context.stdout.write(`wrote ${file}\n`);
    }
    return result.failures.length > 0 || incomplete(result) ? 1 : 0;
  }
}

/** Streams that never arrived count as neither received nor lost packets: the run is not a pass. */
function incomplete(result: LoadtestResult): boolean {
  return result.streamsReceiving < result.streamsExpected;
}

/** Opens and closes one signaling WebSocket; undefined when that worked, else why not. */
async function reachSignaling(url: string): Promise<string | undefined> {
  const connecting = SignalingClient.connect(url);
  try {
    (await withTimeout(connecting, REACH_TIMEOUT_MS, 'a WebSocket handshake')).close();
    return undefined;
  } catch (err) {
    // A handshake that completes after the timeout is closed too.
    connecting.then((client) => client.close(), () => undefined);
    return (err as Error).message;
  }
}

function renderLoadtest(result: LoadtestResult): string {
  const c = result.clients;
  const grid: Grid = {
    headers: ['joined', 'streams', 'expected', 'received', 'loss %', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'jitter ms', 'NACKs', 'PLIs', 'RTX', 'client cores'],
    align: ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: [
      [
        `${result.joined}`,
        `${result.streamsReceiving}/${result.streamsExpected}`,
        formatInteger(c.packetsExpected),
        formatInteger(c.packetsReceived),
        fixed(c.lossPercent, 2),
        adaptive(c.latencyMs.p50),
        adaptive(c.latencyMs.p95),
        adaptive(c.latencyMs.p99),
        adaptive(c.latencyMs.max),
        adaptive(c.jitterMs),
        `${c.nacksSent}`,
        `${c.plisSent}`,
        `${c.retransmissionsReceived}`,
        fixed(c.cpuCores, 2),
      ],
    ],
  };
  const lines = [
    `Load test of ${result.url}: ${result.rooms} room(s) × (${result.publishersPerRoom} publishers + ${result.subscribersPerRoom} subscribers), ${result.durationS.toFixed(1)} s measured`,
    layoutGrid(grid),
    ...result.failures.map((f) => `failed: ${f}`),
    ...(incomplete(result) ? [`missing: ${result.streamsExpected - result.streamsReceiving} of ${result.streamsExpected} streams never arrived`] : []),
  ];
  return lines.join('\n') + '\n';
}
