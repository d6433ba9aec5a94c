/** Reading the auth key options of `shoal serve` and `shoal token` (secrets inline or from files, PEM keys from files). */
import { readFileSync } from 'node:fs';
import { privateKeyFromPem, publicKeyFromPem, type SigningKey, type VerificationKey } from '../auth/access-token.js';

/** A problem the user can fix, reported as a usage error (exit 2). */
export class AuthOptionError extends Error {}

export interface SecretOptions {
  secret?: string;
  secretFile?: string;
}

/** The HS256 secret from --auth-secret or --auth-secret-file (one trailing newline dropped), if either is given. */
function readSecret({ secret, secretFile }: SecretOptions): Buffer | undefined {
  if (secret !== undefined && secretFile !== undefined) throw new AuthOptionError('give --auth-secret or --auth-secret-file, not both');
  if (secret !== undefined) return Buffer.from(secret, 'utf8');
  if (secretFile === undefined) return undefined;
  return Buffer.from(readFile(secretFile, '--auth-secret-file').replace(/\r?\n$/, ''), 'utf8');
}

/** What `shoal serve` checks tokens with: a secret, a public key, or nothing (an open node). */
export function verificationKey(options: SecretOptions & { publicKeyFile?: string }): VerificationKey | undefined {
  const secret = readSecret(options);
  if (secret && options.publicKeyFile !== undefined) throw new AuthOptionError('give a secret or --auth-public-key, not both');
  if (secret) return { algorithm: 'HS256', secret };
  if (options.publicKeyFile === undefined) return undefined;
  return parseKey(() => publicKeyFromPem(readFile(options.publicKeyFile!, '--auth-public-key')), '--auth-public-key');
}

/** What `shoal token` signs with: a secret or a private key (one of them is required). */
export function signingKey(options: SecretOptions & { privateKeyFile?: string }): SigningKey {
  const secret = readSecret(options);
  if (secret && options.privateKeyFile !== undefined) throw new AuthOptionError('give a secret or --private-key, not both');
  if (secret) return { algorithm: 'HS256', secret };
  if (options.privateKeyFile === undefined) throw new AuthOptionError('a key is needed: --auth-secret, --auth-secret-file or --private-key');
  return parseKey(() => privateKeyFromPem(readFile(options.privateKeyFile!, '--private-key')), '--private-key');
}

function readFile(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new AuthOptionError(`${option}: cannot read ${path}: ${(error as Error).message}`);
  }
}

function parseKey<T>(parse: () => T, option: string): T {
  try {
    return parse();
  } catch (error) {
    throw new AuthOptionError(`${option}: ${(error as Error).message}`);
  }
}
