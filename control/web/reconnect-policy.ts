/**
 * When and where the browser client tries again after losing its node: pure
 * functions of the attempt number, so that they can be tested without a
 * browser. Served as `/reconnect-policy.js` beside `/shoal-client.js`.
 */

export interface ReconnectOptions {
  /** Rejoin by itself after losing the node (default true). */
  enabled?: boolean;
  /** Upper bound of the first attempt's delay, and the base of the back-off (default 250 ms). */
  initialDelayMs?: number;
  /** The longest wait between two attempts (default 10 000 ms). */
  maxDelayMs?: number;
  /** How long one attempt may take to open its WebSocket (default 5000 ms). */
  connectTimeoutMs?: number;
  /** A `ping` goes to the node this often (default 5000 ms; 0: never). */
  pingIntervalMs?: number;
  /** The node is taken for lost when nothing at all arrives this long after a ping (default 5000 ms). */
  pingTimeoutMs?: number;
}

export type ReconnectSettings = Required<ReconnectOptions>;

export const DEFAULT_RECONNECT: ReconnectSettings = {
  enabled: true,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  connectTimeoutMs: 5000,
  pingIntervalMs: 5000,
  pingTimeoutMs: 5000,
};

/** The options with defaults filled in; negative or non-finite numbers are refused. */
export function reconnectSettings(options: ReconnectOptions = {}): ReconnectSettings {
  const given = Object.entries(options).filter(([, value]) => value !== undefined);
  const settings: ReconnectSettings = { ...DEFAULT_RECONNECT, ...Object.fromEntries(given) };
  for (const key of ['initialDelayMs', 'maxDelayMs', 'connectTimeoutMs', 'pingIntervalMs', 'pingTimeoutMs'] as const) {
    if (!Number.isFinite(settings[key]) || settings[key] < 0) throw new RangeError(`reconnect.${key} must be a number ≥ 0`);
  }
  return settings;
}

/**
 * The wait before attempt `attempt` (1 for the first) of one reconnect: up to
 * `initialDelayMs` for the first, so that the clients of a lost node do not
 * all come back in the same instant; then half to all of
 * `initialDelayMs * 2^(attempt-1)` ("equal jitter"), never over `maxDelayMs`.
 * `random` returns [0, 1).
 */
export function backoffDelay(attempt: number, settings: Pick<ReconnectSettings, 'initialDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const { initialDelayMs, maxDelayMs } = settings;
  if (attempt <= 1) return Math.min(maxDelayMs, Math.floor(random() * initialDelayMs));
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(base / 2 + random() * (base / 2));
}

/**
 * The node (index into a list of `count`) for attempt `attempt` of a
 * reconnect that starts at `first`: round robin, so a node that fails is
 * followed by the next one at once and comes round again after the others.
 */
export function nodeForAttempt(first: number, attempt: number, count: number): number {
  return (((first + attempt - 1) % count) + count) % count;
}

/**
 * Join errors after which trying again cannot help: the token, the names or
 * the grants are refused. The client gives up instead of looping.
 */
export const FINAL_JOIN_ERRORS: ReadonlySet<string> = new Set([
  'TOKEN_REQUIRED',
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'TOKEN_WRONG_ROOM',
  'PERMISSION_DENIED',
  'INVALID_NAME',
  'MALFORMED_MESSAGE',
  'UNKNOWN_MESSAGE',
]);
