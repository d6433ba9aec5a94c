import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { CLI, loopbackEnv, serve, stopServed } from '../support/cli.js';
import { errorCode, Peers } from '../support/peers.js';
import { wsEngines } from '../support/sfu.js';

after(() => nodeDataChannel.cleanup());

/** Every `shoal serve` option with the environment variable that stands in for it. */
const OPTIONS: Array<[string, string]> = [
  ['--host', 'SHOAL_HOST'],
  ['--port', 'SHOAL_PORT'],
  ['--rtc-bind', 'SHOAL_RTC_BIND'],
  ['--udp-port', 'SHOAL_UDP_PORT'],
  ['--udp-port-range', 'SHOAL_UDP_PORT_RANGE'],
  ['--announced-ip', 'SHOAL_ANNOUNCED_IP'],
  ['--workers', 'SHOAL_WORKERS'],
  ['--room-worker-capacity', 'SHOAL_ROOM_WORKER_CAPACITY'],
  ['--max-publisher-bitrate', 'SHOAL_MAX_PUBLISHER_BITRATE'],
  ['--max-message-size', 'SHOAL_MAX_MESSAGE_SIZE'],
  ['--drain-timeout', 'SHOAL_DRAIN_TIMEOUT'],
  ['--ws-engine', 'SHOAL_WS_ENGINE'],
  ['--allowed-origins', 'SHOAL_ALLOWED_ORIGINS'],
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
