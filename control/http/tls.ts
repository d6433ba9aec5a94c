/** TLS on the node's own listener (`--tls-cert`, `--tls-key`): the files, read and checked at start. */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** A certificate chain and its private key, PEM, as files (uWS reads them itself) and as read at start (node:https). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** A TLS option the user can fix, reported as a usage error (exit 2). */
export class TlsOptionError extends Error {}

/**
 * The TLS files of `--tls-cert` and `--tls-key`: both or neither (undefined:
 * plain HTTP). Each is read now, and the pair is checked the way a TLS
 * server will use it (PEM that parses, a key that matches the certificate),
 * so that a wrong path or file stops the node at start with a message naming
 * the option, not at the first handshake.
 */
export function loadTlsFiles(certFile: string | undefined, keyFile: string | undefined): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new TlsOptionError('--tls-cert and --tls-key go together (env SHOAL_TLS_CERT, SHOAL_TLS_KEY): give both, or neither for plain HTTP');
  }
  const cert = readPem(certFile, '--tls-cert');
  const key = readPem(keyFile, '--tls-key');
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new TlsOptionError(`--tls-cert ${certFile} with --tls-key ${keyFile}: not a usable certificate and key: ${(error as Error).message}`);
  }
  return { certFile, keyFile, cert, key };
}

function readPem(path: string, option: string): Buffer {
  let contents: Buffer;
  try {
    contents = readFileSync(path);
  } catch (error) {
    throw new TlsOptionError(`${option}: cannot read ${path}: ${(error as Error).message}`);
  }
  if (!contents.includes('-----BEGIN ')) throw new TlsOptionError(`${option}: ${path} is not a PEM file (no "-----BEGIN" line)`);
  return contents;
}
