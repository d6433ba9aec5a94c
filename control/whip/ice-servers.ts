/**
 * STUN/TURN servers a node tells its WHIP and WHEP clients about, in `Link`
 * headers of the 201 response (RFC 9725 section 4.6). The node itself uses
 * none: it gathers host candidates only; these are for clients that need a
 * relay or their public address (a TURN server the operator runs, say).
 */
export interface IceServer {
  /** A stun:, stuns:, turn: or turns: URI (RFC 7064, RFC 7065). */
  url: string;
  /** TURN long-term credentials, if any. */
  username?: string;
  credential?: string;
}

const URI = /^(stuns?|turns?):[^\s<>",;]+$/;
/** Characters a quoted Link parameter may hold here: printable ASCII but the quote and backslash. */
const QUOTABLE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * Parses `--ice-servers`: comma-separated entries, each a URI optionally
 * followed by `;username=NAME;credential=SECRET`, e.g.
 * `stun:stun.example.net:3478,turn:turn.example.net:3478?transport=udp;username=shoal;credential=secret`.
 * Throws with the reason on anything else.
 */
export function parseIceServers(list: string): IceServer[] {
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [url = '', ...parameters] = entry.split(';').map((part) => part.trim());
      if (!URI.test(url)) throw new Error(`"${url}" is not a stun:, stuns:, turn: or turns: URI`);
      const server: IceServer = { url };
      for (const parameter of parameters) {
        const equals = parameter.indexOf('=');
        const name = parameter.slice(0, equals);
        const value = parameter.slice(equals + 1);
        if (equals < 0 || (name !== 'username' && name !== 'credential')) throw new Error(`"${parameter}": only username=... and credential=... may follow a URI`);
        if (!QUOTABLE.test(value)) throw new Error(`the ${name} of ${url} must be printable ASCII without quotes or backslashes`);
        server[name] = value;
      }
      if ((server.username === undefined) !== (server.credential === undefined)) throw new Error(`${url}: give both username and credential, or neither`);
      return server;
    });
}

/** The `Link` header value naming every server (one header, the links separated by commas), or undefined for none. */
export function iceServerLinks(servers: readonly IceServer[]): string | undefined {
  if (servers.length === 0) return undefined;
  return servers
    .map(({ url, username, credential }) => {
      const credentials = username !== undefined ? `; username="${username}"; credential="${credential}"; credential-type="password"` : '';
      return `<${url}>; rel="ice-server"${credentials}`;
    })
    .join(', ');
}
