import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian's python3: the one with python3-aiortc, python3-websockets and python3-gst-1.0 (not a pyenv or venv one). */
export const PYTHON = process.env.SHOAL_INTEROP_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../../test/interop/clients.py', import.meta.url));

export type ClientEvent = { event: string; [field: string]: unknown };

export interface InteropRun {
  events: ClientEvent[];
  /** Resolves with the events once the client exited (rejects if it could not start or exited with an error). */
  done: Promise<ClientEvent[]>;
  /** Resolves with the first event that matches. */
  waitFor(match: (e: ClientEvent) => boolean, what: string, timeoutMs?: number): Promise<ClientEvent>;
  stop(): void;
}

/**
 * Runs an independent WebRTC client (test/interop/clients.py: aiortc or
 * GStreamer webrtcbin) against a Shoal node. A missing program fails the test.
 */
export function runInteropClient(command: string, ...args: Array<string | number>): InteropRun {
  return runProgram(PYTHON, [SCRIPT, command, ...args.map(String)], (line) => JSON.parse(line) as ClientEvent);
}

/** Runs any program, turning its stdout lines into events with `parse` (lines it rejects are kept as {event: 'log'}). */
export function runProgram(program: string, args: string[], parse: (line: string) => ClientEvent): InteropRun {
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: ClientEvent[] = [];
  const waiters: Array<{ match: (e: ClientEvent) => boolean; resolve: (e: ClientEvent) => void }> = [];
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      let event: ClientEvent;
      try {
        event = parse(line);
      } catch {
        event = { event: 'log', line };
      }
      events.push(event);
      for (const waiter of waiters.filter((w) => w.match(event))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  const done = new Promise<ClientEvent[]>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`${program} could not start: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGTERM') resolve(events);
      else reject(new Error(`${program} ${args.slice(0, 2).join(' ')} exited with ${code ?? signal}; stderr: ${stderr}`));
    });
  });
  done.catch(() => undefined);
  return {
    events,
    done,
    waitFor(match, what, timeoutMs = 20_000) {
      const found = events.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} from ${program}; events ${JSON.stringify(events)}; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
        done.catch((error: Error) => (clearTimeout(timer), reject(error)));
      });
    },
    stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** The last event named `result` (what a client reports when it ends). */
export function resultOf(events: ClientEvent[]): ClientEvent {
  const result = events.filter((e) => e.event === 'result').at(-1);
  if (!result) throw new Error(`no result from the client; events ${JSON.stringify(events)}`);
  return result;
}
