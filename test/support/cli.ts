import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { waitUntil } from './peers.js';
import { freeUdpPorts } from './sfu.js';

/** The compiled command line, run with the Node.js binary running the tests. */
export const CLI = 'dist/control/cli/main.js';

export interface Served {
  child: ChildProcess;
  port: number;
  /** Every log line so far, parsed. */
  logs: Array<Record<string, unknown>>;
}

/** Starts `shoal serve` (with `nodeArgs` for Node.js) as its own process and waits for its "listening" log line. */
export async function serve(env: Record<string, string>, args: string[] = [], nodeArgs: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) logs.push(JSON.parse(line));
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitUntil(() => logs.some((l) => l.msg === 'shoal node listening') || child.exitCode !== null, 15_000, 'the node to listen');
  const listening = logs.find((l) => l.msg === 'shoal node listening');
  assert.ok(listening, `node did not start: ${stderr} ${JSON.stringify(logs)}`);
  return { child, port: listening.port as number, logs };
}

/** Environment for a `shoal serve` with two workers on loopback and a free port. */
export async function loopbackEnv(): Promise<Record<string, string>> {
  return {
    SHOAL_HOST: '127.0.0.1',
    SHOAL_PORT: '0',
    SHOAL_RTC_BIND: '127.0.0.1',
    SHOAL_UDP_PORT: String(await freeUdpPorts(2)),
    SHOAL_WORKERS: '2',
    SHOAL_DRAIN_TIMEOUT: '5000',
    SHOAL_LOG_LEVEL: 'info',
  };
}

/** SIGTERM (or `signal`), then the exit code once the node has drained (null when the signal ended it). */
export async function stopServed(served: Served, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (served.child.exitCode !== null || served.child.signalCode !== null) return served.child.exitCode;
  const exited = new Promise<number | null>((resolve) => served.child.once('exit', (code) => resolve(code)));
  served.child.kill(signal);
  return exited;
}
