/**
 * A small mutation fuzzer for the test suite: a seeded generator, byte and
 * text mutators, and a driver that runs a target over generated inputs plus
 * the regression cases kept in test/fuzz/regressions/<target>/. A "failure"
 * is an input for which the target throws anything but its declared error,
 * breaks one of its properties, or takes too long. Failures are written to the
 * regressions folder (commit them) and reported with the seed and case index.
 *
 *   SHOAL_FUZZ_CASES  generated cases per target (default 10000)
 *   SHOAL_FUZZ_SEED   a number, or "random" (default 1: CI runs the same cases)
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The regression corpus in the source tree (tests run from dist/, the corpus stays in test/fuzz/). */
const REGRESSIONS = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fuzz/regressions');
const SEEDS = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fuzz/seeds');
/** A run stops after this many failing inputs. */
const MAX_FAILURES = 5;
/** A case slower than this counts as a hang. */
const SLOW_CASE_MS = 2000;

export function fuzzCases(): number {
  const value = Number(process.env.SHOAL_FUZZ_CASES ?? 10_000);
  return Number.isInteger(value) && value > 0 ? value : 10_000;
}

export function fuzzSeed(): number {
  const value = process.env.SHOAL_FUZZ_SEED ?? '1';
  return value === 'random' ? (Math.random() * 0xffffffff) >>> 0 : Number(value) >>> 0;
}

/** Mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** 0 ≤ n < max */
  int(max: number): number {
    return max <= 1 ? 0 : this.next() % max;
  }

  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** Numbers that break code: edges of integer types, negatives, huge and fractional values. */
  interestingNumber(): number {
    return this.pick([0, 1, -1, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 53, -(2 ** 31), 1e308, 0.5, this.int(1000)]);
  }

  /** Strings that break code: empty, long, control and multi-byte characters, separators, injection-looking text. */
  interestingString(): string {
    return this.pick([
      '',
      'a',
      'x'.repeat(this.int(5000)),
      '\u0000',
      '\r\n',
      '..',
      '*',
      '>',
      'ä漢😀',
      '\ud800',
      '__proto__',
      'constructor',
      '%s%n',
      '${x}',
      ' '.repeat(70),
      String(this.interestingNumber()),
    ]);
  }
}

/** One to four stacked byte mutations (flip, set, insert, delete, duplicate a chunk, splice, truncate), within `maxLength`. */
export function mutateBytes(rng: Random, input: Uint8Array, maxLength: number): Uint8Array {
  let data: Uint8Array = Uint8Array.from(input);
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const at = rng.int(data.length + 1);
    switch (rng.int(8)) {
      case 0:
        if (data.length > 0) data[rng.int(data.length)]! ^= 1 << rng.int(8);
        break;
      case 1:
        if (data.length > 0) data[rng.int(data.length)] = rng.pick([0, 0x7f, 0x80, 0xff, rng.int(256)]);
        break;
      case 2:
        data = concat(data.subarray(0, at), rng.bytes(1 + rng.int(16)), data.subarray(at));
        break;
      case 3:
        data = concat(data.subarray(0, at), data.subarray(Math.min(data.length, at + 1 + rng.int(16))));
        break;
      case 4: {
        const from = rng.int(data.length + 1);
        const chunk = data.subarray(from, from + 1 + rng.int(64));
        data = concat(data.subarray(0, at), chunk, chunk, data.subarray(at));
        break;
      }
      case 5:
        data = data.subarray(0, rng.int(data.length + 1));
        break;
      case 6:
        // A 16- or 32-bit field set to an edge value (lengths, counts).
        if (data.length >= 4) {
          const o = rng.int(data.length - 3);
          const v = rng.interestingNumber() >>> 0;
          if (rng.chance(0.5)) [data[o], data[o + 1]] = [(v >>> 8) & 0xff, v & 0xff];
          else [data[o], data[o + 1], data[o + 2], data[o + 3]] = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
        }
        break;
      default:
        data = concat(data, data.subarray(0, rng.int(data.length + 1)));
        break;
    }
  }
  return data.length > maxLength ? data.subarray(0, maxLength) : data;
}

/** Line-level and character-level mutations of a text (SDP, JSON): delete, duplicate, swap and rewrite lines, edit fields. */
export function mutateText(rng: Random, input: string, maxLength: number): string {
  const lines = input.split(/\r?\n/);
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const i = rng.int(lines.length);
    switch (rng.int(9)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[rng.int(lines.length)] ?? '');
        break;
      case 2: {
        const j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        break;
      }
      case 3: {
        // Replace one space-, colon- or slash-separated field of the line.
        const parts = (lines[i] ?? '').split(/([ :/=;])/);
        const f = rng.int(parts.length);
        parts[f] = rng.chance(0.5) ? String(rng.interestingNumber()) : rng.interestingString();
        lines[i] = parts.join('');
        break;
      }
      case 4:
        lines.splice(i, 0, rng.interestingString());
        break;
      case 5:
        lines[i] = (lines[i] ?? '').slice(0, rng.int((lines[i] ?? '').length + 1));
        break;
      case 6: {
        const block = lines.slice(i, i + 1 + rng.int(40));
        lines.splice(i, 0, ...Array.from({ length: 1 + rng.int(8) }, () => block).flat());
        break;
      }
      case 7:
        lines[i] = Buffer.from(mutateBytes(rng, Buffer.from(lines[i] ?? ''), 4096)).toString('latin1');
        break;
      default:
        lines.splice(i, 0, lines[i] ?? '');
        break;
    }
  }
  const text = lines.join(rng.chance(0.9) ? '\r\n' : '\n');
  return text.length > maxLength ? text.slice(0, maxLength) : text;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** The captured real offers in test/fuzz/seeds (a Chromium and a libdatachannel publisher). */
export function seedOffers(): string[] {
  return readdirSync(SEEDS)
    .filter((f) => f.endsWith('.sdp'))
    .sort()
    .map((f) => readFileSync(join(SEEDS, f), 'utf8'));
}

/** How a target's input is stored in the regression corpus. */
export type Input = Uint8Array | string;

export interface FuzzTarget<T extends Input> {
  name: string;
  generate(rng: Random): T;
  /** Runs the code under test; throws a FuzzFinding when a property is broken. Errors `expected` accepts are fine. */
  check(input: T): void | Promise<void>;
  /** Errors the code under test may throw for bad input (its documented error type). */
  expected(error: unknown): boolean;
}

/** A broken property, as opposed to an error the code under test threw. */
export class FuzzFinding extends Error {}

export interface FuzzReport {
  target: string;
  seed: number;
  cases: number;
  regressions: number;
  failures: string[];
  slowestMs: number;
}

/** Runs the regression cases, then `cases` generated ones; never throws (failures are in the report). */
export async function runFuzz<T extends Input>(target: FuzzTarget<T>, cases = fuzzCases(), seed = fuzzSeed()): Promise<FuzzReport> {
  const report: FuzzReport = { target: target.name, seed, cases: 0, regressions: 0, failures: [], slowestMs: 0 };
  const attempt = async (input: T, label: string) => {
    const started = performance.now();
    try {
      await target.check(input);
    } catch (error) {
      if (error instanceof FuzzFinding || !target.expected(error)) {
        report.failures.push(`${label}: ${(error as Error)?.stack ?? String(error)}\n  input: ${describe(input)}\n  kept as ${keep(target.name, input)}`);
      }
    }
    const took = performance.now() - started;
    report.slowestMs = Math.max(report.slowestMs, took);
    if (took > SLOW_CASE_MS) report.failures.push(`${label}: took ${took.toFixed(0)} ms\n  input: ${describe(input)}\n  kept as ${keep(target.name, input)}`);
  };
  for (const [file, input] of regressionCases<T>(target.name)) {
    await attempt(input, `regression ${file}`);
    report.regressions++;
  }
  const rng = new Random(seed);
  // Past a few failures the rest is usually the same bug again (or, live, the damage it did).
  for (let i = 0; i < cases && report.failures.length < MAX_FAILURES; i++) {
    await attempt(target.generate(rng), `case ${i} of seed ${seed}`);
    report.cases++;
  }
  return report;
}

function regressionCases<T extends Input>(target: string): Array<[string, T]> {
  const dir = join(REGRESSIONS, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((file) => {
      const data = readFileSync(join(dir, file));
      return [file, (file.endsWith('.txt') ? data.toString('utf8') : Uint8Array.from(data)) as T];
    });
}

/** Writes a failing input into the regression corpus; returns its path. */
function keep(target: string, input: Input): string {
  const dir = join(REGRESSIONS, target);
  mkdirSync(dir, { recursive: true });
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  const path = join(dir, `found-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.${typeof input === 'string' ? 'txt' : 'bin'}`);
  writeFileSync(path, bytes);
  return path;
}

function describe(input: Input): string {
  const text = typeof input === 'string' ? JSON.stringify(input) : `base64 ${Buffer.from(input).toString('base64')}`;
  return text.length > 400 ? `${text.slice(0, 400)}… (${typeof input === 'string' ? input.length : input.length} long)` : text;
}
