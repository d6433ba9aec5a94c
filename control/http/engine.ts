import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as uWS from 'uWebSockets.js';
import type { StartListener, WsEngine } from './listener.js';
import { startUwsListener } from './uws-listener.js';
import { startWsListener } from './ws-listener.js';

export type WsEngineChoice = 'auto' | WsEngine;
export const WS_ENGINE_CHOICES: readonly WsEngineChoice[] = ['auto', 'uws', 'ws'];

export interface EngineSelection {
  engine: WsEngine;
  /** The native build in use, or why none could be used. */
  detail: string;
  start: StartListener;
}

/**
 * Native uWebSockets.js builds, tried in order: npm package (alias) names in
 * package.json and where each keeps its binary for a platform tag such as
 * `linux_x64_115`. The package in use ships Node 16-20 binaries only; on
 * other Node versions its entry point falls back to a JS implementation that
 * throws "not implemented" at the first WebSocket upgrade. So the entry point
 * is never loaded: the binary is, directly, and a failure to load it is
 * known at start.
 */
const NATIVE_UWS_PACKAGES: ReadonlyArray<{ name: string; binary: (packageDir: string, tag: string) => string }> = [
  { name: 'uWebSockets.js', binary: (dir, tag) => join(dir, 'binaries', `uws_${tag}.node`) },
];

const require = createRequire(import.meta.url);
let nativeResult: { uws: typeof uWS; detail: string } | { problem: string } | undefined;

/** A native uWebSockets.js build that loads in this process, or why there is none. */
export function loadNativeUws(): { uws: typeof uWS; detail: string } | { problem: string } {
  nativeResult ??= findNativeUws();
  return nativeResult;
}

function findNativeUws(): { uws: typeof uWS; detail: string } | { problem: string } {
  const tag = `${process.platform}_${process.arch}_${process.versions.modules}`;
  const problems: string[] = [];
  for (const candidate of NATIVE_UWS_PACKAGES) {
    let packageDir: string;
    try {
      packageDir = dirname(require.resolve(`${candidate.name}/package.json`));
    } catch {
      problems.push(`${candidate.name} is not installed`);
      continue;
    }
    const { version } = require(`${candidate.name}/package.json`) as { version: string };
    const binary = candidate.binary(packageDir, tag);
    if (!existsSync(binary)) {
      problems.push(`${candidate.name} ${version} has no build for ${tag} (Node ${process.version})`);
      continue;
    }
    try {
      const uws = require(binary) as typeof uWS;
      if (typeof uws.App !== 'function') throw new Error('no App() in it');
      return { uws, detail: `${candidate.name} ${version}, native ${tag}` };
    } catch (error) {
      problems.push(`${candidate.name} ${version} does not load: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return { problem: problems.join('; ') };
}

/**
 * The engine to run: `uws` needs a native build (an error if none loads),
 * `ws` always works, `auto` takes uws where it loads and ws elsewhere.
 */
export function selectEngine(choice: WsEngineChoice): EngineSelection {
  if (choice === 'ws') return { engine: 'ws', detail: 'asked for', start: startWsListener };
  const native = loadNativeUws();
  if ('uws' in native) return { engine: 'uws', detail: native.detail, start: (options) => startUwsListener(native.uws, options) };
  if (choice === 'uws') throw new Error(`--ws-engine uws: no native uWebSockets.js build loads here (${native.problem}); use --ws-engine ws or auto`);
  return { engine: 'ws', detail: `no native uWebSockets.js: ${native.problem}`, start: startWsListener };
}
