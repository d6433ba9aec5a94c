import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { iceCredentials } from '../../media/sdp/ice-credentials.js';
import { mediaMid, parseSdp, type Sdp } from '../../media/sdp/sdp.js';
import type { HttpReply, HttpRequestInfo } from '../http/listener.js';
import { originAllowed } from '../http/origins.js';
import type { RateLimitedLog } from '../logging/rate-limited-log.js';
import type { ClientKind, RoomService } from '../rooms/room-service.js';
import { toProtocolError } from '../rooms/wire.js';
import { ErrorCode, ProtocolError } from '../signaling/codec.js';
import { nameProblem } from '../signaling/names.js';
import { iceServerLinks, type IceServer } from './ice-servers.js';
import { parseSdpFragment, SdpFragmentError } from './sdp-fragment.js';
import { WhipSession, type WhipProtocol } from './whip-session.js';

export interface WhipOptions {
  rooms: RoomService;
  /** STUN/TURN servers named to clients in Link headers. */
  iceServers: readonly IceServer[];
  /** Browser origins allowed (CORS); empty: any. */
  allowedOrigins: readonly string[];
  /** Whether joins need a token (the node has an auth key): identities then come from tokens. */
  tokensRequired: boolean;
  /** Requests per second one session's resource takes, sustained (as WebSocket messages). */
  maxRequestsPerSecond: number;
  /** Candidates one PATCH may carry (--max-candidates: a connection takes no more anyway). */
  maxCandidates: number;
  /** Whether another session may open: --max-connections counts WebSockets and WHIP/WHEP sessions together. */
  sessionAllowed: () => boolean;
  log: Logger;
  warnings: RateLimitedLog;
}

const SDP = 'application/sdp';
const SDP_FRAGMENT = 'application/trickle-ice-sdpfrag';
const ENDPOINT_METHODS = 'GET, HEAD, POST, OPTIONS';
const SESSION_METHODS = 'GET, HEAD, PATCH, DELETE, OPTIONS';
/** Seconds a client is asked to wait before trying again (node full, draining, rate limited). */
const RETRY_AFTER_S = '5';

/** The HTTP status of each refusal; anything not listed is 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.INVALID_SDP]: 400,
  [ErrorCode.INVALID_NAME]: 400,
  [ErrorCode.TOO_MANY_TRACKS]: 400,
  [ErrorCode.TOO_MANY_CANDIDATES]: 400,
  [ErrorCode.TOKEN_REQUIRED]: 401,
  [ErrorCode.TOKEN_INVALID]: 401,
  [ErrorCode.TOKEN_EXPIRED]: 401,
  [ErrorCode.TOKEN_NOT_YET_VALID]: 401,
  [ErrorCode.TOKEN_WRONG_ROOM]: 403,
  [ErrorCode.PERMISSION_DENIED]: 403,
  [ErrorCode.UNKNOWN_ROOM]: 404,
  [ErrorCode.INVALID_STATE]: 409,
  [ErrorCode.NOT_JOINED]: 409,
  [ErrorCode.REPLACED]: 409,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.ROOM_FULL]: 503,
  [ErrorCode.MEDIA_PORTS_EXHAUSTED]: 503,
  [ErrorCode.TOO_MANY_CONNECTIONS]: 503,
  [ErrorCode.SHUTTING_DOWN]: 503,
  [ErrorCode.WORKER_FAILED]: 503,
  [ErrorCode.UNAVAILABLE]: 503,
};

interface Route {
  protocol: WhipProtocol;
  room: string;
  /** The session's id; none for the endpoint. */
  sessionId?: string;
}

/**
 * WHIP (RFC 9725) and WHEP (draft-ietf-wish-whep) on the node's HTTP
 * listener: `POST /whip/{room}` publishes into a room, `POST /whep/{room}`
 * (`?identity=` for one publisher) watches it; each creates a session
 * resource (`/whip/{room}/{id}`) that takes PATCH (trickled candidates) and
 * DELETE. Every response carries CORS headers for allowed origins. See
 * docs/whip-whep.md.
 */
export class WhipEndpoints {
  private readonly sessions = new Map<string, WhipSession>();

  constructor(private readonly options: WhipOptions) {}

  /** Sessions open (or being set up). */
  get size(): number {
    return this.sessions.size;
  }

  handles(path: string): boolean {
    return /^\/wh[ie]p(\/|$)/.test(path);
  }

  async handle(request: HttpRequestInfo): Promise<HttpReply> {
    const origin = request.headers.origin;
    if (origin !== undefined && !originAllowed(this.options.allowedOrigins, origin)) {
      this.options.warnings.warn('whip-origin-refused', { origin }, 'WHIP/WHEP request from an origin not in --allowed-origins refused');
      return text(403, 'origin not allowed');
    }
    const reply = await this.route(request);
    if (origin === undefined) return reply;
    return {
      ...reply,
      headers: {
        ...reply.headers,
        'access-control-allow-origin': origin,
        vary: 'Origin',
        'access-control-expose-headers': 'Location, ETag, Link, Accept-Patch, Accept-Post',
      },
    };
  }

  private async route(request: HttpRequestInfo): Promise<HttpReply> {
    const route = parseRoute(request.path);
    if (!route) return text(404, 'not found: WHIP is at /whip/{room}, WHEP at /whep/{room}');
    if (request.body === undefined) return text(413, `request body over the limit of the node's --max-message-size`);
    if (request.method === 'OPTIONS') return this.describe(route, request);
    if (route.sessionId === undefined) {
      if (request.method === 'POST') return this.create(route, request, request.body);
      if (request.method === 'GET' || request.method === 'HEAD') return { status: 204, headers: {}, body: '' };
      return { ...text(405, `${request.method} is not allowed here`), headers: { 'content-type': 'text/plain', allow: ENDPOINT_METHODS } };
    }
    const session = this.sessions.get(route.sessionId);
    if (!session || session.protocol !== route.protocol || session.room !== route.room || session.isEnded) return text(404, 'no such session');
    const verdict = session.charge();
    if (verdict === 'disconnect') {
      await session.end('its client kept sending requests over the rate limit');
      return text(429, 'too many requests: the session was ended');
    }
    if (verdict !== 'accept') return { status: 429, headers: { 'content-type': 'text/plain', 'retry-after': '1' }, body: 'too many requests' };
    switch (request.method) {
      case 'PATCH':
        return this.patch(session, request, request.body);
      case 'DELETE':
        await session.end('the client deleted it');
        return text(200, 'session ended');
      case 'GET':
      case 'HEAD':
        return { status: 204, headers: {}, body: '' };
      default:
        return { ...text(405, `${request.method} is not allowed here`), headers: { 'content-type': 'text/plain', allow: SESSION_METHODS } };
    }
  }

  /** CORS preflight, or a client asking what the endpoint takes (then with the ICE servers, RFC 9725 section 4.6). */
  private describe(route: Route, request: HttpRequestInfo): HttpReply {
    const headers: Record<string, string> = route.sessionId === undefined ? { 'accept-post': SDP, allow: ENDPOINT_METHODS } : { 'accept-patch': SDP_FRAGMENT, allow: SESSION_METHODS };
    if (request.headers['access-control-request-method'] !== undefined) {
      Object.assign(headers, {
        'access-control-allow-methods': route.sessionId === undefined ? ENDPOINT_METHODS : SESSION_METHODS,
        'access-control-allow-headers': 'Authorization, Content-Type, If-Match',
        'access-control-max-age': '86400',
      });
    } else if (route.sessionId === undefined) {
      const links = iceServerLinks(this.options.iceServers);
      if (links) headers.link = links;
    }
    return { status: 200, headers, body: '' };
  }

  /** POST on an endpoint: join the room, apply the offer, answer 201 with the session's location. */
  private async create(route: Route, request: HttpRequestInfo, body: Buffer): Promise<HttpReply> {
    const { rooms, log } = this.options;
    if (!contentTypeIs(request.headers['content-type'], SDP)) {
      return { status: 415, headers: { 'content-type': 'text/plain', 'accept-post': SDP }, body: `the offer must be sent as Content-Type: ${SDP}` };
    }
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) return unauthorized('the Authorization header must be "Bearer <token>"');
    const offer = body.toString('utf8');
    let parsed: Sdp;
    try {
      parsed = parseSdp(offer);
    } catch (error) {
      return text(400, `INVALID_SDP: ${(error as Error).message}`);
    }
    if (!this.options.sessionAllowed()) {
      this.options.warnings.warn('whip-too-many', {}, 'WHIP/WHEP session refused: --max-connections are open');
      return { status: 503, headers: { 'content-type': 'text/plain', 'retry-after': RETRY_AFTER_S }, body: 'TOO_MANY_CONNECTIONS: this node is full; try again later, or another node' };
    }
    const query = new URLSearchParams(request.query);
    const named = query.get('identity') ?? undefined;
    const session = new WhipSession(route.protocol, route.room, rooms, this.options.maxRequestsPerSecond, (s) => this.sessions.delete(s.id), log.child({ room: route.room, protocol: route.protocol }));
    [session.iceCredentials] = iceCredentials(parsed);
    session.firstMid = parsed.media.map(mediaMid).find((mid) => mid !== undefined) ?? '0';
    this.sessions.set(session.id, session);
    try {
      const client: ClientKind = route.protocol === 'whip' ? { protocol: 'whip' } : { protocol: 'whep', ...(named !== undefined ? { watch: named } : {}) };
      const watchedProblem = client.protocol === 'whep' && named !== undefined ? nameProblem('identity', named) : undefined;
      if (watchedProblem) throw new ProtocolError(ErrorCode.INVALID_NAME, `?identity=: ${watchedProblem}`);
      // The publisher's own identity on WHIP; the node's tokens name it when auth is on.
      const identity = route.protocol === 'whip' && named !== undefined ? named : this.options.tokensRequired ? '' : `${route.protocol}-${randomBytes(4).toString('hex')}`;
      const participant = await rooms.join(session, { room: route.room, identity, mustExist: route.protocol === 'whep', token, client }, 0);
      let answer: string;
      if (route.protocol === 'whip') {
        const published = await rooms.publish(participant, offer, true);
        if (published.tracks.length === 0) throw new ProtocolError(ErrorCode.INVALID_SDP, 'the offer sends no audio or video track with a codec this server forwards');
        answer = published.sdp;
      } else {
        answer = await rooms.view(participant, offer);
      }
      if (session.isEnded) throw new ProtocolError(ErrorCode.SHUTTING_DOWN, 'the session ended while it was being set up');
      session.started = true;
      participant.log.info({ session: session.id, protocol: route.protocol }, `${route.protocol.toUpperCase()} session started`);
      const headers: Record<string, string> = { 'content-type': SDP, location: session.path, etag: session.etag, 'accept-patch': SDP_FRAGMENT };
      const links = iceServerLinks(this.options.iceServers);
      if (links) headers.link = links;
      return { status: 201, headers, body: answer };
    } catch (error) {
      await session.end('its offer was refused').catch(() => undefined);
      return errorReply(toProtocolError(error, session.log));
    }
  }

  /** PATCH on a session: trickled candidates (RFC 8840 fragment); an ICE restart is refused, the session stays. */
  private async patch(session: WhipSession, request: HttpRequestInfo, body: Buffer): Promise<HttpReply> {
    if (!contentTypeIs(request.headers['content-type'], SDP_FRAGMENT)) {
      return { status: 415, headers: { 'content-type': 'text/plain', 'accept-patch': SDP_FRAGMENT }, body: `candidates must be sent as Content-Type: ${SDP_FRAGMENT}` };
    }
    const ifMatch = request.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && !ifMatch.split(',').some((tag) => tag.trim() === session.etag)) {
      return text(412, `If-Match does not name this session's ICE session (ETag ${session.etag})`);
    }
    let fragment;
    try {
      fragment = parseSdpFragment(body.toString('utf8'), this.options.maxCandidates);
    } catch (error) {
      if (error instanceof SdpFragmentError) return text(400, `INVALID_SDP: ${error.message}`);
      throw error;
    }
    const current = session.iceCredentials;
    const restart = (fragment.ufrag !== undefined && fragment.ufrag !== current?.ufrag) || (fragment.pwd !== undefined && fragment.pwd !== current?.pwd);
    if (restart) {
      return text(422, 'ICE restart is not supported (libdatachannel cannot restart ICE): this session keeps its ICE credentials; DELETE it and POST a new offer to start over');
    }
    const participant = session.participant;
    if (!participant) return text(404, 'no such session');
    const role = session.protocol === 'whip' ? 'publisher' : 'subscriber';
    try {
      for (const { candidate, mid } of fragment.candidates) await this.options.rooms.addCandidate(participant, role, candidate, mid ?? session.firstMid);
    } catch (error) {
      return errorReply(toProtocolError(error, participant.log));
    }
    return { status: 204, headers: {}, body: '' };
  }
}

/** `/whip/{room}`, `/whep/{room}` and `/whip/{room}/{session id}`; undefined for any other path. */
function parseRoute(path: string): Route | undefined {
  const match = /^\/(whip|whep)\/([^/]+)(?:\/([0-9a-f]{32}))?$/.exec(path);
  if (!match) return undefined;
  return { protocol: match[1] as WhipProtocol, room: match[2]!, ...(match[3] ? { sessionId: match[3] } : {}) };
}

/** The token of "Bearer <token>"; '' when there is no Authorization header, undefined when it is something else. */
function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return '';
  return /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization)?.[1];
}

/** Whether a Content-Type header names `type` (parameters and case aside). */
function contentTypeIs(header: string | undefined, type: string): boolean {
  return header?.split(';')[0]?.trim().toLowerCase() === type;
}

function text(status: number, body: string): HttpReply {
  return { status, headers: { 'content-type': 'text/plain' }, body };
}

function unauthorized(message: string, invalidToken = false): HttpReply {
  return { status: 401, headers: { 'content-type': 'text/plain', 'www-authenticate': invalidToken ? 'Bearer error="invalid_token"' : 'Bearer' }, body: message };
}

/** A refusal as HTTP: its status, and the error code and message in the body. */
function errorReply(error: ProtocolError): HttpReply {
  const status = STATUS[error.code] ?? 500;
  const body = `${ErrorCode[error.code]}: ${error.message}`;
  if (status === 401) return unauthorized(body, error.code !== ErrorCode.TOKEN_REQUIRED);
  if (status === 503 || status === 429) return { status, headers: { 'content-type': 'text/plain', 'retry-after': RETRY_AFTER_S }, body };
  return text(status, body);
}
