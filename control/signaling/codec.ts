import type { Enum, Type } from 'protobufjs';
import descriptor from '../../proto/generated/descriptor.js';
import { shoal } from '../../proto/generated/shoal.js';

const v1 = shoal.signaling.v1;
export const ErrorCode = v1.ErrorCode;
export type ErrorCode = shoal.signaling.v1.ErrorCode;
export type ClientMessage = shoal.signaling.v1.ClientMessage;
export type ServerMessage = shoal.signaling.v1.ServerMessage.$Properties;
export type DataMessage = shoal.signaling.v1.DataMessage;

/** How a client talks: protobuf in binary frames or canonical JSON in text frames. */
export type Encoding = 'binary' | 'json';

/** A frame the server cannot accept, with the error code to answer it with. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface StaticType<T> {
  decode(data: Uint8Array): T;
  encode(message: never): { finish(): Uint8Array };
  fromObject(object: Record<string, unknown>): T;
  toObject(message: never, options: Record<string, unknown>): Record<string, unknown>;
}

const JSON_OUTPUT = { enums: String, bytes: String, longs: String, json: true };
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeClientMessage(data: Uint8Array, binary: boolean): ClientMessage {
  const message = decode(v1.ClientMessage as unknown as StaticType<ClientMessage>, 'shoal.signaling.v1.ClientMessage', data, binary, true);
  if (!message.message) throw new ProtocolError(ErrorCode.UNKNOWN_MESSAGE, 'the message carries no known message type');
  return message;
}

export function encodeServerMessage(message: ServerMessage, encoding: Encoding): string | Uint8Array {
  return encode(v1.ServerMessage as unknown as StaticType<unknown>, message, encoding);
}

/** A DataMessage as it travels on a data channel: protobuf in a binary message, JSON in a string. */
export function decodeDataMessage(raw: string | Uint8Array): DataMessage {
  const binary = typeof raw !== 'string';
  const data = binary ? raw : Buffer.from(raw, 'utf8');
  return decode(v1.DataMessage as unknown as StaticType<DataMessage>, 'shoal.signaling.v1.DataMessage', data, binary, false);
}

export function encodeDataMessage(message: shoal.signaling.v1.DataMessage.$Properties, encoding: Encoding): string | Uint8Array {
  return encode(v1.DataMessage as unknown as StaticType<unknown>, message, encoding);
}

function encode(type: StaticType<unknown>, message: unknown, encoding: Encoding): string | Uint8Array {
  if (encoding === 'binary') return type.encode(message as never).finish();
  return JSON.stringify(type.toObject(message as never, JSON_OUTPUT));
}

function decode<T>(type: StaticType<T>, name: string, data: Uint8Array, binary: boolean, topLevelOneof: boolean): T {
  if (binary) {
    try {
      return type.decode(data);
    } catch (error) {
      throw new ProtocolError(ErrorCode.MALFORMED_MESSAGE, `not a valid protobuf message: ${(error as Error).message}`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(data));
  } catch (error) {
    throw new ProtocolError(ErrorCode.MALFORMED_MESSAGE, `not valid JSON: ${(error as Error).message}`);
  }
  const reflected = descriptor.lookupType(name);
  const normalized = normalizeJson(reflected, value, '', topLevelOneof);
  try {
    return type.fromObject(normalized);
  } catch (error) {
    // What the checks above let through, e.g. base64 of an impossible length.
    throw new ProtocolError(ErrorCode.MALFORMED_MESSAGE, (error as Error).message);
  }
}

function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function malformed(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.MALFORMED_MESSAGE, message);
}

/**
 * Checks a parsed JSON value against a message type as the proto3 JSON mapping
 * defines it (field names in lowerCamelCase or as in the .proto, enums by name,
 * bytes in base64) and returns it with lowerCamelCase keys. Unknown fields are
 * errors; at the top level of a oneof envelope they are an unknown message type.
 */
function normalizeJson(type: Type, value: unknown, path: string, envelope: boolean): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed(`${path || 'message'} must be a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const name = camelCase(key);
    // Own keys only: "constructor" or "toString" must not find Object.prototype members.
    const field = Object.hasOwn(type.fields, name) ? type.fields[name] : undefined;
    const where = path ? `${path}.${key}` : key;
    if (!field) {
      if (envelope) throw new ProtocolError(ErrorCode.UNKNOWN_MESSAGE, `unknown message type "${key}"`);
      throw malformed(`unknown field "${where}"`);
    }
    if (item === null) continue;
    field.resolve();
    if (field.repeated) {
      if (!Array.isArray(item)) throw malformed(`${where} must be an array`);
      out[name] = item.map((element, i) => normalizeValue(field.type, field.resolvedType, element, `${where}[${i}]`));
    } else {
      out[name] = normalizeValue(field.type, field.resolvedType, item, where);
    }
  }
  // proto3 JSON: at most one member of a oneof (one message type per frame, one payload).
  for (const oneof of type.oneofsArray) {
    const present = oneof.oneof.filter((member) => out[member] !== undefined);
    if (present.length > 1) throw malformed(`${path || 'message'} carries both "${present[0]}" and "${present[1]}"; send one`);
  }
  return out;
}

const INTEGER_RANGES: Record<string, [number, number]> = {
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
  sint32: [-0x80000000, 0x7fffffff],
  fixed32: [0, 0xffffffff],
};

function normalizeValue(typeName: string, resolved: Type | Enum | null, value: unknown, where: string): unknown {
  if (resolved && 'fields' in resolved) return normalizeJson(resolved, value, where, false);
  if (resolved) {
    const known = typeof value === 'string' ? Object.hasOwn(resolved.values, value) : Number.isInteger(value) && Object.values(resolved.values).includes(value as number);
    if (!known) throw malformed(`${where} must be one of ${Object.keys(resolved.values).join(', ')}`);
    return value;
  }
  switch (typeName) {
    case 'string':
      if (typeof value !== 'string') throw malformed(`${where} must be a string`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw malformed(`${where} must be true or false`);
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) throw malformed(`${where} must be base64`);
      return value;
    case 'double':
    case 'float':
      if (typeof value !== 'number') throw malformed(`${where} must be a number`);
      return value;
    default: {
      const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      const range = INTEGER_RANGES[typeName];
      if (!range || !Number.isInteger(number) || (number as number) < range[0] || (number as number) > range[1]) {
        throw malformed(`${where} must be an integer of type ${typeName}`);
      }
      return number;
    }
  }
}
