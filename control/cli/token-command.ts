import { Command, Option } from 'clipanion';
import { GRANTS, signAccessToken, type Grant } from '../auth/access-token.js';
import { nameProblem } from '../signaling/names.js';
import { AuthOptionError, signingKey } from './auth-options.js';

const DEFAULT_GRANTS: Grant[] = ['publish', 'subscribe', 'data'];
const DEFAULT_TTL = '6h';

/** `shoal token`: mints an access token (JWT) for development and scripts. */
export class TokenCommand extends Command {
  static override paths = [['token']];

  static override usage = Command.Usage({
    description: 'Mint an access token for a room',
    details: `
      Prints a JWT that admits IDENTITY to ROOM on a node started with the same secret (HS256) or with
      the public key of the given private key (ES256 for a P-256 key, RS256 for an RSA key). Grants:
      publish, subscribe, data (send data messages) and admin (read /stats); the default is
      publish,subscribe,data. A token for /stats alone needs no room. docs/security.md describes the claims.
    `,
    examples: [
      ['A token for alice in room demo, valid 6 hours', '$0 token --auth-secret "$SHOAL_AUTH_SECRET" --room demo --identity alice'],
      ['A viewer that may only receive, for 10 minutes', '$0 token --room demo --identity viewer-7 --grants subscribe --ttl 10m'],
      ['An admin token for /stats, signed with a private key', '$0 token --private-key key.pem --identity ops --grants admin'],
    ],
  });

  room = Option.String('--room', { env: 'SHOAL_TOKEN_ROOM', description: 'Room the token admits to; needed unless the only grant is admin (env SHOAL_TOKEN_ROOM)' });
  identity = Option.String('--identity', { env: 'SHOAL_TOKEN_IDENTITY', required: true, description: 'Identity of the participant (env SHOAL_TOKEN_IDENTITY)' });
  grants = Option.String('--grants', DEFAULT_GRANTS.join(','), { env: 'SHOAL_TOKEN_GRANTS', description: `Comma-separated grants from ${GRANTS.join(', ')}; default ${DEFAULT_GRANTS.join(',')} (env SHOAL_TOKEN_GRANTS)` });
  ttl = Option.String('--ttl', DEFAULT_TTL, { env: 'SHOAL_TOKEN_TTL', description: `Lifetime: seconds, or a number with s, m, h or d; default ${DEFAULT_TTL} (env SHOAL_TOKEN_TTL)` });
  secret = Option.String('--auth-secret', { env: 'SHOAL_AUTH_SECRET', description: 'Shared secret to sign with, HS256 (env SHOAL_AUTH_SECRET)' });
  secretFile = Option.String('--auth-secret-file', { env: 'SHOAL_AUTH_SECRET_FILE', description: 'File holding the shared secret (env SHOAL_AUTH_SECRET_FILE)' });
  privateKey = Option.String('--private-key', { env: 'SHOAL_AUTH_PRIVATE_KEY', description: 'PEM private key file to sign with: P-256 EC (ES256) or RSA (RS256) (env SHOAL_AUTH_PRIVATE_KEY)' });

  async execute(): Promise<number> {
    const usage = (message: string) => {
      this.context.stderr.write(`${message}\n`);
      return 2;
    };
    const grants = this.grants.split(',').map((g) => g.trim()).filter((g) => g.length > 0);
    const unknown = grants.filter((g) => !(GRANTS as readonly string[]).includes(g));
    if (unknown.length > 0) return usage(`unknown grant ${unknown.map((g) => JSON.stringify(g)).join(', ')}; grants are ${GRANTS.join(', ')}`);
    const ttlS = parseDuration(this.ttl);
    if (ttlS === undefined) return usage(`--ttl must look like 3600, 90s, 15m, 6h or 7d, not "${this.ttl}"`);
    const problem = nameProblem('identity', this.identity) ?? (this.room === undefined ? undefined : nameProblem('room', this.room));
    if (problem) return usage(problem);
    if (this.room === undefined && grants.some((g) => g !== 'admin')) return usage('--room is needed for a token that joins a room');
    let key;
    try {
      key = signingKey({ secret: this.secret, secretFile: this.secretFile, privateKeyFile: this.privateKey });
    } catch (error) {
      if (error instanceof AuthOptionError) return usage(error.message);
      throw error;
    }
    const now = Math.floor(Date.now() / 1000);
    const token = signAccessToken(
      { identity: this.identity, ...(this.room !== undefined ? { room: this.room } : {}), grants: grants as Grant[], iat: now, exp: now + ttlS },
      key,
    );
    this.context.stdout.write(`${token}\n`);
    return 0;
  }
}

/** "3600", "90s", "15m", "6h", "7d" → seconds; undefined when it is none of these. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return seconds > 0 ? seconds : undefined;
}
