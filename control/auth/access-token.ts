import { createHmac, createPublicKey, createPrivateKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

/** What a token may allow; a node without auth allows everything. */
export const GRANTS = ['publish', 'subscribe', 'data', 'admin'] as const;
export type Grant = (typeof GRANTS)[number];

export type TokenAlgorithm = 'HS256' | 'ES256' | 'RS256';

/** The claims Shoal reads from a token (docs/security.md). */
export interface AccessClaims {
  /** The room the token admits to; absent on tokens only meant for /stats. */
  room?: string;
  identity: string;
  grants: ReadonlySet<Grant>;
  /** Expiry and not-before, seconds since the epoch. */
  exp: number;
  nbf?: number;
}

/** Why a token is refused; the codes match the signaling ErrorCode names. */
export type TokenProblem = 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_NOT_YET_VALID';

export class TokenError extends Error {
  constructor(
    readonly problem: TokenProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Longest token accepted: a Shoal token is a few hundred bytes. */
const MAX_TOKEN_LENGTH = 4096;
/** Clock difference tolerated between the token's issuer and this node, seconds. */
export const CLOCK_LEEWAY_S = 30;

/** The key a node checks signatures with: a shared secret (HS256) or a public key (ES256 on P-256, RS256). */
export type VerificationKey = { algorithm: 'HS256'; secret: Buffer } | { algorithm: 'ES256' | 'RS256'; key: KeyObject };
/** The key `shoal token` signs with. */
export type SigningKey = { algorithm: 'HS256'; secret: Buffer } | { algorithm: 'ES256' | 'RS256'; key: KeyObject };

/** A verification key from a PEM public key (or certificate): the algorithm follows from the key type. */
export function publicKeyFromPem(pem: string): VerificationKey {
  const key = createPublicKey(pem);
  return { algorithm: asymmetricAlgorithm(key), key };
}

export function privateKeyFromPem(pem: string): SigningKey {
  const key = createPrivateKey(pem);
  return { algorithm: asymmetricAlgorithm(key), key };
}

function asymmetricAlgorithm(key: KeyObject): 'ES256' | 'RS256' {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`unsupported key type ${key.asymmetricKeyType ?? '?'}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}: use an RSA key (RS256) or a P-256 EC key (ES256)`);
}

/** Signs claims as a compact JWS (JWT). */
export function signAccessToken(claims: Omit<AccessClaims, 'grants'> & { grants: readonly Grant[]; iat?: number }, key: SigningKey): string {
  const header = base64url(JSON.stringify({ alg: key.algorithm, typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const input = `${header}.${payload}`;
  const signature =
    key.algorithm === 'HS256'
      ? createHmac('sha256', key.secret).update(input).digest()
      : sign('sha256', Buffer.from(input), { key: key.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${base64url(signature)}`;
}

/**
 * Checks a token's signature and times, and reads its claims. The algorithm
 * must be the key's (no "none", no HS256 with a public key). Throws TokenError.
 */
export function verifyAccessToken(token: string, key: VerificationKey, nowS = Date.now() / 1000): AccessClaims {
  if (token.length > MAX_TOKEN_LENGTH) throw invalid(`longer than ${MAX_TOKEN_LENGTH} characters`);
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) throw invalid('not a JWT (three base64url parts)');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = parseJsonObject(headerPart, 'header');
  if (header.alg !== key.algorithm) throw invalid(`algorithm ${JSON.stringify(header.alg)} is not accepted; this node takes ${key.algorithm}`);
  if (header.crit !== undefined) throw invalid('critical header parameters are not supported');
  const input = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  if (!signatureMatches(input, signature, key)) throw invalid('bad signature');
  return readClaims(parseJsonObject(payloadPart, 'payload'), nowS);
}

function signatureMatches(input: Buffer, signature: Buffer, key: VerificationKey): boolean {
  if (key.algorithm === 'HS256') {
    const expected = createHmac('sha256', key.secret).update(input).digest();
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }
  try {
    return verify('sha256', input, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

function readClaims(payload: Record<string, unknown>, nowS: number): AccessClaims {
  const { room, identity, grants, exp, nbf } = payload;
  if (typeof identity !== 'string' || identity.length === 0) throw invalid('the identity claim must be a non-empty string');
  if (room !== undefined && typeof room !== 'string') throw invalid('the room claim must be a string');
  if (!Array.isArray(grants) || !grants.every((g) => typeof g === 'string')) throw invalid('the grants claim must be an array of strings');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw invalid('the exp claim (expiry, seconds since the epoch) is required');
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) throw invalid('the nbf claim must be a number');
  if (nowS > exp + CLOCK_LEEWAY_S) throw new TokenError('TOKEN_EXPIRED', `the token expired at ${new Date(exp * 1000).toISOString()}`);
  if (nbf !== undefined && nowS < nbf - CLOCK_LEEWAY_S) {
    throw new TokenError('TOKEN_NOT_YET_VALID', `the token is not valid before ${new Date(nbf * 1000).toISOString()}`);
  }
  const known = new Set<Grant>(grants.filter((g): g is Grant => (GRANTS as readonly string[]).includes(g)));
  return { identity, ...(room !== undefined ? { room } : {}), grants: known, exp, ...(nbf !== undefined ? { nbf } : {}) };
}

function parseJsonObject(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw invalid(`the ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`the ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function invalid(reason: string): TokenError {
  return new TokenError('TOKEN_INVALID', `invalid token: ${reason}`);
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}
