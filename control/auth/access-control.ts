import { GRANTS, TokenError, verifyAccessToken, type Grant, type VerificationKey } from './access-token.js';

/** Why a join or a message is refused; the names are signaling ErrorCode names. */
export type AccessProblem = 'TOKEN_REQUIRED' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_NOT_YET_VALID' | 'TOKEN_WRONG_ROOM' | 'PERMISSION_DENIED';

export class AccessDenied extends Error {
  constructor(
    readonly problem: AccessProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Who a join admits: the identity to use and what it may do. */
export interface Admission {
  identity: string;
  grants: ReadonlySet<Grant>;
}

const EVERYTHING: ReadonlySet<Grant> = new Set(GRANTS);

/**
 * The node's access policy. With no key the node is open: every join is
 * admitted with every grant, and /stats is public. With a key, a join must
 * carry a token for its room, the identity is the token's, and the token's
 * grants decide what the participant may do; /stats needs an admin token.
 */
export class AccessControl {
  constructor(private readonly key: VerificationKey | undefined) {}

  get open(): boolean {
    return this.key === undefined;
  }

  /** Checks a join; throws AccessDenied with the reason. */
  admit(join: { room: string; identity: string; token: string }): Admission {
    if (!this.key) return { identity: join.identity, grants: EVERYTHING };
    if (!join.token) throw new AccessDenied('TOKEN_REQUIRED', 'this node requires an access token: join with a "token"');
    const claims = this.verify(join.token);
    if (claims.room !== join.room) {
      throw new AccessDenied('TOKEN_WRONG_ROOM', `the token is for ${claims.room === undefined ? 'no room' : `room "${claims.room}"`}, not "${join.room}"`);
    }
    if (join.identity && join.identity !== claims.identity) {
      throw new AccessDenied('PERMISSION_DENIED', `the token is for identity "${claims.identity}", not "${join.identity}"`);
    }
    return { identity: claims.identity, grants: claims.grants };
  }

  /**
   * Whether an HTTP Authorization header carries a valid token with the admin
   * grant ("Bearer <token>"); always true on an open node.
   */
  isAdmin(authorization: string | undefined): boolean {
    if (!this.key) return true;
    const match = /^Bearer ([A-Za-z0-9._-]+)$/.exec(authorization?.trim() ?? '');
    if (!match) return false;
    try {
      return this.verify(match[1]!).grants.has('admin');
    } catch {
      return false;
    }
  }

  private verify(token: string) {
    try {
      return verifyAccessToken(token, this.key!);
    } catch (error) {
      if (error instanceof TokenError) throw new AccessDenied(error.problem, error.message);
      throw error;
    }
  }
}

/** Throws PERMISSION_DENIED unless `grants` holds `grant`. */
export function requireGrant(grants: ReadonlySet<Grant>, grant: Grant, action: string): void {
  if (!grants.has(grant)) throw new AccessDenied('PERMISSION_DENIED', `${action} needs the "${grant}" grant, which this participant's token does not have`);
}
