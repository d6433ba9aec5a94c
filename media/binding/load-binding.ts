import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as NodeDataChannel from 'node-datachannel';

/** The classes and functions of the node-datachannel native addon that the media code uses. */
export interface Binding {
  PeerConnection: typeof NodeDataChannel.PeerConnection;
  Audio: typeof NodeDataChannel.Audio;
  Video: typeof NodeDataChannel.Video;
  initLogger: typeof NodeDataChannel.initLogger;
  cleanup: typeof NodeDataChannel.cleanup;
  getLibraryVersion: typeof NodeDataChannel.getLibraryVersion;
}

const require = createRequire(import.meta.url);

/**
 * Loads a private instance of the node-datachannel addon for the calling
 * worker thread. The addon keeps process-global constructor references, so two
 * JavaScript environments must never share one loaded copy: each worker loads
 * its own copy of the .node file from a path of its own, which dlopen treats
 * as a separate library with separate statics (see STACK-FACTS.md). The copy
 * is deleted once loaded; the mapping stays valid.
 */
export function loadPrivateBinding(label: string): Binding {
  const packageJson = require.resolve(`${nativePackageName()}/package.json`);
  const original = join(packageJson, '..', 'node_datachannel.node');
  const dir = mkdtempSync(join(tmpdir(), `shoal-${label}-`));
  const copy = join(dir, 'node_datachannel.node');
  try {
    copyFileSync(original, copy);
    return require(copy) as Binding;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The optional dependency of node-datachannel that holds the prebuilt addon for this platform. */
function nativePackageName(): string {
  const libc = process.platform === 'linux' ? '-gnu' : process.platform === 'win32' ? '-msvc' : '';
  return `@node-datachannel/${process.platform}-${process.arch}${libc}`;
}
