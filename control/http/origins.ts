/**
 * Browser origins allowed to open the signaling WebSocket (the `Origin`
 * header of the upgrade request). An empty list allows any origin. Requests
 * without an Origin header come from non-browser clients, which can send any
 * header they like, so the header is no use against them: they are allowed.
 */

/** Parses a comma-separated list of origins (`https://meet.example.com,http://localhost:8080`); throws on anything else. */
export function parseOrigins(list: string): string[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const origin = originOf(entry);
      if (!origin) throw new Error(`"${entry}" is not an origin (scheme://host[:port], no path)`);
      return origin;
    });
}

/** Whether an upgrade with this Origin header may proceed. */
export function originAllowed(allowed: readonly string[], origin: string | undefined): boolean {
  if (allowed.length === 0 || origin === undefined) return true;
  const normalized = originOf(origin);
  return normalized !== undefined && allowed.includes(normalized);
}

/** The serialized origin (scheme, host, port; case and default ports normalized) when `value` is exactly an origin. */
function originOf(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.origin === 'null' || url.pathname !== '/' || url.search || url.hash || url.username || url.password) return undefined;
  return url.origin;
}
