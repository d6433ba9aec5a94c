import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { SignalingClient } from '../../bench/client/signaling-client.js';
import { verifyAccessToken } from '../../control/auth/access-token.js';
import { CLI, loopbackEnv, serve, stopServed } from '../support/cli.js';
import { errorCode, packetsDuring, Peers, waitUntil } from '../support/peers.js';
import { wsEngines } from '../support/sfu.js';

after(() => nodeDataChannel.cleanup());

/** Every `shoal serve` option with the environment variable that stands in for it. */
const OPTIONS: Array<[string, string]> = [
  ['--host', 'SHOAL_HOST'],
  ['--port', 'SHOAL_PORT'],
  ['--tls-cert', 'SHOAL_TLS_CERT'],
  ['--tls-key', 'SHOAL_TLS_KEY'],
  ['--rtc-bind', 'SHOAL_RTC_BIND'],
  ['--udp-port', 'SHOAL_UDP_PORT'],
  ['--udp-port-range', 'SHOAL_UDP_PORT_RANGE'],
  ['--announced-ip', 'SHOAL_ANNOUNCED_IP'],
  ['--workers', 'SHOAL_WORKERS'],
  ['--room-worker-capacity', 'SHOAL_ROOM_WORKER_CAPACITY'],
  ['--max-publisher-bitrate', 'SHOAL_MAX_PUBLISHER_BITRATE'],
  ['--publisher-feedback', 'SHOAL_PUBLISHER_FEEDBACK'],
  ['--max-message-size', 'SHOAL_MAX_MESSAGE_SIZE'],
  ['--drain-timeout', 'SHOAL_DRAIN_TIMEOUT'],
  ['--max-tracks-per-participant', 'SHOAL_MAX_TRACKS_PER_PARTICIPANT'],
  ['--max-candidates', 'SHOAL_MAX_CANDIDATES'],
  ['--max-participants-per-room', 'SHOAL_MAX_PARTICIPANTS_PER_ROOM'],
  ['--max-connections', 'SHOAL_MAX_CONNECTIONS'],
  ['--max-messages-per-second', 'SHOAL_MAX_MESSAGES_PER_SECOND'],
  ['--auth-secret', 'SHOAL_AUTH_SECRET'],
  ['--auth-secret-file', 'SHOAL_AUTH_SECRET_FILE'],
  ['--auth-public-key', 'SHOAL_AUTH_PUBLIC_KEY'],
  ['--ws-engine', 'SHOAL_WS_ENGINE'],
  ['--allowed-origins', 'SHOAL_ALLOWED_ORIGINS'],
  ['--ice-servers', 'SHOAL_ICE_SERVERS'],
  ['--nats', 'SHOAL_NATS_URL'],
  ['--log-level', 'SHOAL_LOG_LEVEL'],
];

describe('shoal serve', { timeout: 60_000 }, () => {
  test('--help lists every option with its environment variable', () => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    for (const [flag, env] of OPTIONS) {
      const line = result.stdout.split('\n').find((l) => l.trim().startsWith(flag));
      assert.ok(line, `--help has a line for ${flag}`);
      assert.ok(result.stdout.includes(`env ${env}`), `--help names ${env} for ${flag}`);
    }
  });

  test('a bad option value is refused with a message', () => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--workers', 'many'], { encoding: 'utf8' });
    assert.notEqual(result.status, 0);
    assert.match(result.stdout + result.stderr, /workers/);
  });

  for (const [args, complaint] of [
    [['--workers', '0'], /workers must be 1 to 256/],
    [['--max-message-size', '100'], /max message size must be 1024 bytes to 16 MiB/],
    [['--allowed-origins', 'meet.example.com'], /--allowed-origins: "meet.example.com" is not an origin/],
    [['--ws-engine', 'fast'], /ws-engine/],
  ] as Array<[string[], RegExp]>) {
    test(`${args.join(' ')} is a usage error, not a stack trace`, () => {
      const result = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8', timeout: 10_000 });
      assert.notEqual(result.status, 0);
      assert.notEqual(result.status, null, 'exits by itself');
      assert.match(result.stdout + result.stderr, complaint);
      assert.doesNotMatch(result.stdout + result.stderr, /^\s+at /m, 'no stack trace');
    });
  }

  test('the "listening" line names the WebSocket engine and every worker\'s UDP port', async () => {
    const env = await loopbackEnv();
    const node = await serve(env);
    try {
      const listening = node.logs.find((l) => l.msg === 'shoal node listening')!;
      const first = Number(env.SHOAL_UDP_PORT);
      assert.deepEqual(listening.udpPorts, [String(first), String(first + 1)]);
      assert.ok(wsEngines().includes(listening.wsEngine as 'uws' | 'ws'), `engine ${listening.wsEngine}`);
      assert.equal(listening.rtcBind, '127.0.0.1');
    } finally {
      await stopServed(node);
    }
  });

  test('a second shoal serve on a port in use fails at once with a clear error, whatever the engine', async () => {
    const first = await serve(await loopbackEnv());
    try {
      for (const engine of wsEngines()) {
        const env = { ...(await loopbackEnv()), SHOAL_PORT: String(first.port), SHOAL_WS_ENGINE: engine };
        const second = spawnSync(process.execPath, [CLI, 'serve'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 15_000 });
        assert.equal(second.status, 1, `${engine}: exits 1 by itself`);
        const fatal = second.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 60);
        assert.match(String(fatal?.msg), new RegExp(`cannot start: cannot listen on 127\\.0\\.0\\.1:${first.port}: .*in use`), engine);
      }
      assert.equal((await fetch(`http://127.0.0.1:${first.port}/healthz`)).status, 200, 'the first node carries on');
    } finally {
      await stopServed(first);
    }
  });

  test('a second shoal serve on the UDP port of the first one\'s worker fails at start with a clear error; the first carries on', async () => {
    const first = await serve(await loopbackEnv());
    try {
      const env = { ...(await loopbackEnv()), SHOAL_UDP_PORT: (first.logs.find((l) => l.msg === 'shoal node listening')!.udpPorts as string[])[1]! };
      const second = spawnSync(process.execPath, [CLI, 'serve'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 15_000 });
      assert.equal(second.status, 1, `exits 1 by itself, not aborted: ${second.signal}`);
      const fatal = second.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 60);
      assert.match(String(fatal?.msg), /cannot start: media worker 0 exited/);
      assert.match(second.stdout, new RegExp(`UDP port ${env.SHOAL_UDP_PORT} on 127\\.0\\.0\\.1 is already in use.*choose another --udp-port`));
      // The first node carries on.
      const peers = new Peers(`ws://127.0.0.1:${first.port}/ws`);
      try {
        const { trackIds } = await peers.publisher('udp-in-use', 'alice');
        const bob = await peers.join('udp-in-use', 'bob');
        for (const id of trackIds) await bob.waitForPackets(id, 20);
      } finally {
        peers.closeAll();
      }
    } finally {
      await stopServed(first);
    }
  });

  test('options come from the environment; a flag wins over its variable', async () => {
    const env = await loopbackEnv();
    const fromEnv = await serve(env);
    const stats = (await (await fetch(`http://127.0.0.1:${fromEnv.port}/stats`)).json()) as { workers: unknown[] };
    assert.equal(stats.workers.length, 2);
    fromEnv.child.kill('SIGTERM');
    await once(fromEnv.child, 'exit');

    const withFlag = await serve(await loopbackEnv(), ['--workers', '1']);
    const flagStats = (await (await fetch(`http://127.0.0.1:${withFlag.port}/stats`)).json()) as { workers: unknown[] };
    assert.equal(flagStats.workers.length, 1);
    withFlag.child.kill('SIGTERM');
    await once(withFlag.child, 'exit');
  });

  test('SIGTERM drains: clients are told, workers release the binding, exit 0 in bounded time', async () => {
    const node = await serve(await loopbackEnv());
    const peers = new Peers(`ws://127.0.0.1:${node.port}/ws`);
    try {
      const { trackIds } = await peers.publisher('drain', 'alice');
      const bob = await peers.join('drain', 'bob');
      for (const id of trackIds) await bob.waitForPackets(id, 10);

      // Logs are pino JSON lines with room, participant and worker bindings.
      const joinedLine = node.logs.find((l) => l.msg === 'participant joined');
      assert.ok(joinedLine, 'a "participant joined" log line');
      for (const key of ['room', 'participant', 'worker']) assert.ok(key in joinedLine, `log line has "${key}"`);

      const told = bob.signaling.waitFor((e) => e.message === 'error', 10_000);
      const started = Date.now();
      node.child.kill('SIGTERM');
      const [code] = (await once(node.child, 'exit')) as [number];
      const took = Date.now() - started;
      assert.equal(code, 0);
      assert.ok(took < 5000, `drained in ${took} ms`);
      assert.equal(errorCode(await told), 'SHUTTING_DOWN');
      assert.ok(node.logs.some((l) => l.msg === 'drained'));
    } finally {
      peers.closeAll();
      node.child.kill('SIGKILL');
    }
  });
});

describe('the main thread', { timeout: 60_000 }, () => {
  test('an exception outside any request (listener, timer, unhandled rejection) is logged and contained; media keeps flowing', async () => {
    const injector = new URL('../support/inject-faults.js', import.meta.url).href;
    const node = await serve(await loopbackEnv(), [], ['--import', injector]);
    const peers = new Peers(`ws://127.0.0.1:${node.port}/ws`);
    try {
      const { trackIds } = await peers.publisher('faults', 'alice');
      const bob = await peers.join('faults', 'bob');
      for (const id of trackIds) await bob.waitForPackets(id, 10);
      node.child.kill('SIGUSR2');
      const contained = () => node.logs.filter((l) => /contained/.test(String(l.msg)));
      await waitUntil(() => contained().length === 3 || node.child.exitCode !== null, 10_000, 'three contained failures');
      assert.equal(node.child.exitCode, null, 'the node is still running');
      const messages = contained().map((l) => `${l.origin}: ${(l.err as { message: string }).message}`).sort();
      assert.deepEqual(messages, [
        'uncaughtException: injected: thrown in a listener',
        'uncaughtException: injected: thrown in a timer',
        'unhandledRejection: injected: rejected and never handled',
      ]);
      assert.ok(contained().every((l) => l.level === 50 && typeof (l.err as { stack?: string }).stack === 'string'), 'logged as errors with their stacks');
      assert.ok((await packetsDuring(bob, trackIds, 500)) > 0, 'media keeps flowing');
      assert.equal((await fetch(`http://127.0.0.1:${node.port}/healthz`)).status, 200);
      node.child.kill('SIGTERM');
      const [code] = (await once(node.child, 'exit')) as [number];
      assert.equal(code, 0, 'and it still drains cleanly');
    } finally {
      peers.closeAll();
      node.child.kill('SIGKILL');
    }
  });
});

describe('shoal token and a node that requires tokens', { timeout: 60_000 }, () => {
  const SECRET = 'a secret of at least thirty-two bytes for the CLI test';
  const token = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CLI, 'token', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });

  test('shoal token mints a token with the room, identity, grants and lifetime asked for', () => {
    const result = token(['--room', 'demo', '--identity', 'alice', '--grants', 'subscribe,data', '--ttl', '10m'], { SHOAL_AUTH_SECRET: SECRET });
    assert.equal(result.status, 0, result.stderr);
    const claims = verifyAccessToken(result.stdout.trim(), { algorithm: 'HS256', secret: Buffer.from(SECRET) });
    assert.equal(claims.room, 'demo');
    assert.equal(claims.identity, 'alice');
    assert.deepEqual([...claims.grants].sort(), ['data', 'subscribe']);
    assert.ok(Math.abs(claims.exp - (Date.now() / 1000 + 600)) < 30, 'expires in 10 minutes');
  });

  test('shoal token refuses what it cannot sign, with a usage error', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--room', 'demo', '--identity', 'alice'], /a key is needed/],
      [['--room', 'demo', '--identity', 'alice', '--auth-secret', SECRET, '--grants', 'publish,fly'], /unknown grant "fly"/],
      [['--room', 'demo', '--identity', 'alice', '--auth-secret', SECRET, '--ttl', 'soon'], /--ttl/],
      [['--identity', 'alice', '--auth-secret', SECRET], /--room is needed/],
      [['--room', 'demo.x', '--identity', 'alice', '--auth-secret', SECRET], /room contains/],
      [['--room', 'demo', '--identity', 'alice', '--private-key', '/nonexistent.pem'], /cannot read/],
    ];
    for (const [args, message] of cases) {
      const result = token(args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.equal(token(['--identity', 'ops', '--grants', 'admin', '--auth-secret', SECRET]).status, 0, 'an admin token needs no room');
  });

  test('serve with SHOAL_AUTH_SECRET: a join needs a token; an open node says it is open', async () => {
    const open = await serve(await loopbackEnv());
    assert.ok(open.logs.some((l) => l.level === 40 && /no auth secret/.test(String(l.msg))), 'a warning that the node is open');
    open.child.kill('SIGTERM');
    await once(open.child, 'exit');

    const secured = await serve({ ...(await loopbackEnv()), SHOAL_AUTH_SECRET: SECRET });
    try {
      assert.ok(!secured.logs.some((l) => /no auth secret/.test(String(l.msg))));
      const client = await SignalingClient.connect(`ws://127.0.0.1:${secured.port}/ws`, 'json');
      assert.equal(errorCode(await client.request({ join: { room: 'demo', identity: 'alice' } })), 'TOKEN_REQUIRED');
      const minted = token(['--room', 'demo', '--identity', 'alice', '--auth-secret', SECRET]).stdout.trim();
      assert.equal((await client.request({ join: { room: 'demo', identity: 'alice', token: minted } })).message, 'joined');
      client.close();
    } finally {
      secured.child.kill('SIGTERM');
      await once(secured.child, 'exit');
    }
  });

  test('a secret that is too short is refused at start', async () => {
    const result = spawnSync(process.execPath, [CLI, 'serve', '--auth-secret', 'short'], { encoding: 'utf8', env: { PATH: process.env.PATH, ...(await loopbackEnv()) } });
    assert.notEqual(result.status, 0);
    assert.match(result.stdout + result.stderr, /at least 32 bytes/);
  });

  test('a publisher feedback other than remb or twcc is refused at start, from the flag or the environment', async () => {
    const env = { PATH: process.env.PATH, ...(await loopbackEnv()) };
    for (const result of [
      spawnSync(process.execPath, [CLI, 'serve', '--publisher-feedback', 'gcc'], { encoding: 'utf8', env }),
      spawnSync(process.execPath, [CLI, 'serve'], { encoding: 'utf8', env: { ...env, SHOAL_PUBLISHER_FEEDBACK: 'nada' } }),
    ]) {
      assert.notEqual(result.status, 0);
      assert.match(result.stdout + result.stderr, /publisher-feedback|remb|twcc/);
    }
  });

  test('--media-gateway worker with more than one worker is refused at start, naming the way out', async () => {
    const env = { PATH: process.env.PATH, ...(await loopbackEnv()) };
    const result = spawnSync(process.execPath, [CLI, 'serve', '--nats', 'nats://127.0.0.1:1', '--workers', '2', '--media-gateway', 'worker'], { encoding: 'utf8', env });
    assert.notEqual(result.status, 0);
    assert.match(result.stdout + result.stderr, /inside the media worker only with one worker.*--media-gateway thread/);
    const unknown = spawnSync(process.execPath, [CLI, 'serve'], { encoding: 'utf8', env: { ...env, SHOAL_MEDIA_GATEWAY: 'process' } });
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stdout + unknown.stderr, /media-gateway|auto|thread|worker/);
  });
});

describe('shoal loadtest', { timeout: 30_000 }, () => {
  test('takes its URL from SHOAL_LOADTEST_URL, as its help says', () => {
    const env = { PATH: process.env.PATH, SHOAL_LOADTEST_URL: 'ws://127.0.0.1:1/ws' };
    const result = spawnSync(process.execPath, [CLI, 'loadtest', '--duration', '1'], { env, encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cannot reach ws:\/\/127\.0\.0\.1:1\/ws/);
  });

  test('without --url or SHOAL_LOADTEST_URL it is a usage error naming both', () => {
    const result = spawnSync(process.execPath, [CLI, 'loadtest'], { env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--url \(or SHOAL_LOADTEST_URL\) is required/);
  });
});
