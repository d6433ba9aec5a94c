import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeClientMessage,
  decodeDataMessage,
  encodeDataMessage,
  encodeServerMessage,
  ErrorCode,
  ProtocolError,
  type ServerMessage,
} from '../../control/signaling/codec.js';
import { shoal } from '../../proto/generated/shoal.js';

const v1 = shoal.signaling.v1;

function json(text: string) {
  return decodeClientMessage(Buffer.from(text, 'utf8'), false);
}

function rejects(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `a ProtocolError, got ${String(e)}`);
    assert.equal(e.code, code, `code ${ErrorCode[e.code]}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

const malformed = (text: string, message?: RegExp) => rejects(() => json(text), ErrorCode.MALFORMED_MESSAGE, message);
const unknown = (text: string, message?: RegExp) => rejects(() => json(text), ErrorCode.UNKNOWN_MESSAGE, message);

describe('decodeClientMessage from JSON', () => {
  test('canonical camelCase join', () => {
    const m = json('{"requestId":7,"join":{"room":"lobby","identity":"alice","mustExist":true}}');
    assert.equal(m.message, 'join');
    assert.equal(m.requestId, 7);
    assert.equal(m.join!.room, 'lobby');
    assert.equal(m.join!.identity, 'alice');
    assert.equal(m.join!.mustExist, true);
  });

  test('snake_case field names are accepted', () => {
    const m = json('{"request_id":5,"publish_offer":{"sdp":"v=0\\r\\n"}}');
    assert.equal(m.message, 'publishOffer');
    assert.equal(m.requestId, 5);
    assert.equal(m.publishOffer!.sdp, 'v=0\r\n');
    const t = json('{"trickle":{"target":"PUBLISHER","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdp_mid":"0"}}');
    assert.equal(t.trickle!.sdpMid, '0');
  });

  test('enums by name and by number', () => {
    assert.equal(json('{"trickle":{"target":"PUBLISHER"}}').trickle!.target, v1.ConnectionRole.PUBLISHER);
    assert.equal(json('{"trickle":{"target":"SUBSCRIBER"}}').trickle!.target, v1.ConnectionRole.SUBSCRIBER);
    assert.equal(json('{"trickle":{"target":2}}').trickle!.target, v1.ConnectionRole.SUBSCRIBER);
  });

  test('unknown enum names and numbers are malformed', () => {
    malformed('{"trickle":{"target":"NOPE"}}', /trickle\.target must be one of/);
    malformed('{"trickle":{"target":"publisher"}}');
    malformed('{"trickle":{"target":7}}');
    malformed('{"trickle":{"target":1.5}}');
    malformed('{"trickle":{"target":true}}');
  });

  test('enum names that only exist on a prototype are malformed', () => {
    malformed('{"trickle":{"target":"1"}}');
    malformed('{"trickle":{"target":"toString"}}');
    malformed('{"trickle":{"target":"__proto__"}}');
  });

  test('every message type of the oneof', () => {
    assert.equal(json('{"ping":{"nonce":42}}').ping!.nonce, 42);
    assert.equal(json('{"leave":{}}').message, 'leave');
    assert.equal(json('{"subscriberAnswer":{"sdp":"x"}}').subscriberAnswer!.sdp, 'x');
    const data = json('{"data":{"text":"hi","toIdentities":["bob","carol"],"unreliable":true}}').data!;
    assert.equal(data.text, 'hi');
    assert.deepEqual(data.toIdentities, ['bob', 'carol']);
    assert.equal(data.unreliable, true);
    assert.equal(data.payload, 'text');
  });

  test('bytes as base64', () => {
    const data = json('{"data":{"binary":"AQID/w=="}}').data!;
    assert.equal(data.payload, 'binary');
    assert.deepEqual([...data.binary!], [1, 2, 3, 255]);
    malformed('{"data":{"binary":"not base64!"}}', /must be base64/);
    malformed('{"data":{"binary":[1,2,3]}}', /must be base64/);
  });

  test('integers may be given as decimal strings', () => {
    assert.equal(json('{"requestId":"123","ping":{"nonce":"4294967295"}}').ping!.nonce, 4294967295);
  });

  test('uint32 out of range, fractional or negative is malformed', () => {
    malformed('{"requestId":-1,"ping":{}}', /requestId must be an integer of type uint32/);
    malformed('{"requestId":4294967296,"ping":{}}');
    malformed('{"requestId":1.5,"ping":{}}');
    malformed('{"requestId":"1e3","ping":{}}');
    malformed('{"requestId":"","ping":{}}');
    malformed('{"ping":{"nonce":true}}');
  });

  test('wrong field types are malformed', () => {
    malformed('{"join":{"room":123}}', /join\.room must be a string/);
    malformed('{"join":{"room":"a","mustExist":"yes"}}', /join\.mustExist must be true or false/);
    malformed('{"join":{"room":["a"]}}');
    malformed('{"join":{"room":{}}}');
    malformed('{"join":"lobby"}', /join must be a JSON object/);
    malformed('{"join":[]}', /join must be a JSON object/);
    malformed('{"join":42}');
  });

  test('repeated fields must be arrays of the right type', () => {
    malformed('{"data":{"toIdentities":"bob"}}', /data\.toIdentities must be an array/);
    malformed('{"data":{"toIdentities":["bob",1]}}', /data\.toIdentities\[1\] must be a string/);
    assert.deepEqual(json('{"data":{"toIdentities":[]}}').data!.toIdentities, []);
  });

  test('null fields are treated as absent', () => {
    const m = json('{"requestId":null,"ping":{"nonce":null}}');
    assert.equal(m.message, 'ping');
    assert.equal(m.requestId, 0);
    assert.equal(m.ping!.nonce, 0);
    unknown('{"join":null}');
  });

  test('malformed JSON', () => {
    malformed('{"join":', /not valid JSON/);
    malformed('{bad}', /not valid JSON/);
    malformed("{'join':{}}", /not valid JSON/);
    malformed('', /not valid JSON/);
    malformed('   ', /not valid JSON/);
  });

  test('JSON that is not an object', () => {
    for (const text of ['null', '[]', '[{"ping":{}}]', '"ping"', '42', 'true']) malformed(text, /must be a JSON object/);
  });

  test('unknown top-level key is an unknown message', () => {
    unknown('{"dance":{}}', /unknown message type "dance"/);
    unknown('{"requestId":1,"dance":{}}');
    unknown('{"Join":{}}');
  });

  test('prototype property names are unknown keys, not crashes', () => {
    unknown('{"constructor":{}}', /"constructor"/);
    unknown('{"toString":{}}');
    unknown('{"hasOwnProperty":{}}');
    unknown('{"__proto__":{}}');
    malformed('{"join":{"constructor":1}}', /unknown field "join\.constructor"/);
    malformed('{"join":{"valueOf":{}}}');
    malformed('{"data":{"__proto__":"x"}}');
  });

  test('an empty object is an unknown message', () => {
    unknown('{}', /no known message type/);
    unknown('{"requestId":3}');
  });

  test('an unknown nested field is malformed', () => {
    malformed('{"join":{"room":"a","colour":"red"}}', /unknown field "join\.colour"/);
    malformed('{"ping":{"nonce":1,"extra":null}}');
  });

  test('invalid UTF-8 is malformed', () => {
    const bytes = Buffer.concat([Buffer.from('{"join":{"room":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
    rejects(() => decodeClientMessage(bytes, false), ErrorCode.MALFORMED_MESSAGE);
    // A truncated multi-byte sequence too.
    const truncated = Buffer.concat([Buffer.from('{"join":{"room":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}}')]);
    rejects(() => decodeClientMessage(truncated, false), ErrorCode.MALFORMED_MESSAGE);
  });

  test('valid multi-byte UTF-8 decodes', () => {
    assert.equal(json('{"data":{"text":"héllo 😀"}}').data!.text, 'héllo 😀');
  });

  test('ProtocolError carries its code and is an Error', () => {
    const e = new ProtocolError(ErrorCode.INVALID_SDP, 'bad sdp');
    assert.ok(e instanceof Error);
    assert.equal(e.code, 4);
    assert.equal(e.message, 'bad sdp');
  });
});

describe('decodeClientMessage from protobuf', () => {
  test('a binary message decodes', () => {
    const bytes = v1.ClientMessage.encode({ requestId: 9, join: { room: 'lobby', identity: 'bob', mustExist: false } }).finish();
    const m = decodeClientMessage(bytes, true);
    assert.equal(m.message, 'join');
    assert.equal(m.requestId, 9);
    assert.equal(m.join!.room, 'lobby');
    assert.equal(m.join!.identity, 'bob');
  });

  test('hand-written bytes: requestId 5, ping { nonce 9 }', () => {
    const m = decodeClientMessage(Buffer.from([0x08, 0x05, 0x42, 0x02, 0x08, 0x09]), true);
    assert.equal(m.message, 'ping');
    assert.equal(m.requestId, 5);
    assert.equal(m.ping!.nonce, 9);
  });

  test('data message with binary payload', () => {
    const bytes = v1.ClientMessage.encode({ data: { binary: new Uint8Array([0, 1, 254, 255]), toIdentities: ['x'] } }).finish();
    const m = decodeClientMessage(bytes, true);
    assert.deepEqual([...m.data!.binary!], [0, 1, 254, 255]);
    assert.deepEqual(m.data!.toIdentities, ['x']);
  });

  test('an empty binary frame is an unknown message', () => {
    rejects(() => decodeClientMessage(new Uint8Array(0), true), ErrorCode.UNKNOWN_MESSAGE);
    rejects(() => decodeClientMessage(Buffer.from([0x08, 0x01]), true), ErrorCode.UNKNOWN_MESSAGE);
  });

  test('garbage binary is malformed', () => {
    for (const bytes of [
      [0xff, 0xff, 0xff, 0xff],
      [0x12, 0x05, 0x0a],
      [...Buffer.from('hello world garbage')],
      [0x12],
      [0x08],
      [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ]) {
      rejects(() => decodeClientMessage(Buffer.from(bytes), true), ErrorCode.MALFORMED_MESSAGE, /not a valid protobuf message/);
    }
  });

  test('JSON text sent as a binary frame is not accepted as a message', () => {
    assert.throws(() => decodeClientMessage(Buffer.from('{"ping":{}}'), true), ProtocolError);
  });
});

describe('encodeServerMessage', () => {
  const joined: ServerMessage = {
    requestId: 3,
    joined: {
      room: 'lobby',
      participantId: 'p1',
      identity: 'alice',
      participants: [{ participantId: 'p2', identity: 'bob' }],
      tracks: [{ trackId: 't1', participantId: 'p2', identity: 'bob', kind: v1.TrackKind.VIDEO, codec: 'video/VP8' }],
    },
  };

  /** `joined` as a plain object with enums by name: the JSON output, and the binary output decoded. */
  const JOINED_WITH_ENUM_NAMES = {
    requestId: 3,
    joined: {
      room: 'lobby',
      participantId: 'p1',
      identity: 'alice',
      participants: [{ participantId: 'p2', identity: 'bob' }],
      tracks: [{ trackId: 't1', participantId: 'p2', identity: 'bob', kind: 'VIDEO', codec: 'video/VP8' }],
    },
  };

  test('JSON output is canonical: camelCase, enum names', () => {
    const text = encodeServerMessage(joined, 'json');
    assert.equal(typeof text, 'string');
    assert.deepEqual(JSON.parse(text as string), JOINED_WITH_ENUM_NAMES);
    assert.ok(!(text as string).includes('_'), 'no snake_case keys');
  });

  test('error codes as names', () => {
    const text = encodeServerMessage({ requestId: 1, error: { code: ErrorCode.MALFORMED_MESSAGE, message: 'nope' } }, 'json');
    assert.equal(text, '{"requestId":1,"error":{"code":"MALFORMED_MESSAGE","message":"nope"}}');
  });

  test('bytes as base64', () => {
    const text = encodeServerMessage(
      { data: { fromParticipantId: 'p1', fromIdentity: 'alice', binary: new Uint8Array([1, 2, 3, 255]) } },
      'json',
    );
    assert.deepEqual(JSON.parse(text as string), { data: { fromParticipantId: 'p1', fromIdentity: 'alice', binary: 'AQID/w==' } });
  });

  test('the oneof appears only as its member, with no "message" key', () => {
    const parsed = JSON.parse(encodeServerMessage({ pong: { nonce: 5 } }, 'json') as string) as Record<string, unknown>;
    assert.deepEqual(parsed, { pong: { nonce: 5 } });
  });

  test('trickle with enum target', () => {
    const text = encodeServerMessage({ trickle: { target: v1.ConnectionRole.SUBSCRIBER, candidate: 'c', sdpMid: '0' } }, 'json');
    assert.deepEqual(JSON.parse(text as string), { trickle: { target: 'SUBSCRIBER', candidate: 'c', sdpMid: '0' } });
  });

  test('binary output decodes back', () => {
    const bytes = encodeServerMessage(joined, 'binary');
    assert.ok(bytes instanceof Uint8Array);
    const back = v1.ServerMessage.decode(bytes);
    assert.equal(back.message, 'joined');
    assert.equal(back.requestId, 3);
    assert.deepEqual(v1.ServerMessage.toObject(back, { enums: String }), JOINED_WITH_ENUM_NAMES);
  });

  test('binary error and data messages decode back', () => {
    const err = v1.ServerMessage.decode(encodeServerMessage({ error: { code: ErrorCode.REPLACED, message: 'replaced' } }, 'binary') as Uint8Array);
    assert.equal(err.error!.code, ErrorCode.REPLACED);
    assert.equal(err.error!.message, 'replaced');
    const data = v1.ServerMessage.decode(encodeServerMessage({ data: { binary: new Uint8Array([9, 8]) } }, 'binary') as Uint8Array);
    assert.deepEqual([...data.data!.binary!], [9, 8]);
  });

  test('an empty message encodes to nothing', () => {
    assert.equal(encodeServerMessage({}, 'json'), '{}');
    assert.equal((encodeServerMessage({}, 'binary') as Uint8Array).length, 0);
  });
});

describe('decodeDataMessage / encodeDataMessage', () => {
  test('text payload round trips through JSON', () => {
    const text = encodeDataMessage({ text: 'hello', toIdentities: ['bob'], unreliable: true }, 'json');
    assert.equal(typeof text, 'string');
    assert.deepEqual(JSON.parse(text as string), { text: 'hello', toIdentities: ['bob'], unreliable: true });
    const back = decodeDataMessage(text);
    assert.equal(back.payload, 'text');
    assert.equal(back.text, 'hello');
    assert.deepEqual(back.toIdentities, ['bob']);
    assert.equal(back.unreliable, true);
  });

  test('binary payload round trips through JSON as base64', () => {
    const text = encodeDataMessage({ binary: new Uint8Array([0, 127, 128, 255]) }, 'json');
    assert.deepEqual(JSON.parse(text as string), { binary: 'AH+A/w==' });
    const back = decodeDataMessage(text);
    assert.equal(back.payload, 'binary');
    assert.deepEqual([...back.binary!], [0, 127, 128, 255]);
  });

  test('text payload round trips through protobuf', () => {
    const bytes = encodeDataMessage({ fromParticipantId: 'p', fromIdentity: 'alice', text: 'héllo 😀' }, 'binary');
    assert.ok(bytes instanceof Uint8Array);
    const back = decodeDataMessage(bytes);
    assert.equal(back.payload, 'text');
    assert.equal(back.text, 'héllo 😀');
    assert.equal(back.fromParticipantId, 'p');
    assert.equal(back.fromIdentity, 'alice');
  });

  test('binary payload round trips through protobuf', () => {
    const payload = new Uint8Array(300).map((_, i) => i & 0xff);
    const back = decodeDataMessage(encodeDataMessage({ binary: payload, unreliable: true }, 'binary'));
    assert.equal(back.payload, 'binary');
    assert.deepEqual([...back.binary!], [...payload]);
    assert.equal(back.unreliable, true);
  });

  test('an empty binary payload stays binary', () => {
    const back = decodeDataMessage(encodeDataMessage({ binary: new Uint8Array(0) }, 'binary'));
    assert.equal(back.payload, 'binary');
    assert.equal(back.binary!.length, 0);
  });

  test('snake_case is accepted in data channel JSON', () => {
    const back = decodeDataMessage('{"text":"x","to_identities":["a"],"from_identity":"spoof"}');
    assert.deepEqual(back.toIdentities, ['a']);
    assert.equal(back.fromIdentity, 'spoof');
  });

  test('an empty DataMessage decodes (no envelope check here)', () => {
    const back = decodeDataMessage('{}');
    assert.equal(back.payload, undefined);
    assert.equal(decodeDataMessage(new Uint8Array(0)).payload, undefined);
  });

  test('unknown fields are malformed, not unknown messages', () => {
    rejects(() => decodeDataMessage('{"join":{}}'), ErrorCode.MALFORMED_MESSAGE, /unknown field "join"/);
    rejects(() => decodeDataMessage('{"constructor":1}'), ErrorCode.MALFORMED_MESSAGE);
  });

  test('malformed input', () => {
    rejects(() => decodeDataMessage('not json'), ErrorCode.MALFORMED_MESSAGE, /not valid JSON/);
    rejects(() => decodeDataMessage(''), ErrorCode.MALFORMED_MESSAGE);
    rejects(() => decodeDataMessage('[]'), ErrorCode.MALFORMED_MESSAGE);
    rejects(() => decodeDataMessage('{"text":5}'), ErrorCode.MALFORMED_MESSAGE, /text must be a string/);
    rejects(() => decodeDataMessage(Buffer.from([0xff, 0xff, 0xff])), ErrorCode.MALFORMED_MESSAGE, /not a valid protobuf/);
  });

  test('two message types in one JSON frame are malformed', () => {
    malformed('{"join":{"room":"r","identity":"i"},"ping":{}}', /both/);
    rejects(() => decodeDataMessage('{"text":"a","binary":"AA=="}'), ErrorCode.MALFORMED_MESSAGE, /both/);
  });
});
