/**
 * Room and identity names end up in bus subjects and store keys, so they are
 * restricted to characters that are safe there: no dots, wildcards (`*`, `>`)
 * or whitespace. Shared by the node (control/signaling/names.ts) and the demo
 * page (served as `/names.js`): no imports, no Node.js APIs.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
export const MAX_NAME_LENGTH = 64;

/** Why `value` is not a usable room or identity name, or undefined when it is. */
export function nameProblem(what: 'room' | 'identity', value: string): string | undefined {
  if (value.length === 0) return `${what} is empty`;
  if (value.length > MAX_NAME_LENGTH) return `${what} is longer than ${MAX_NAME_LENGTH} characters`;
  if (!NAME_PATTERN.test(value)) {
    const bad = [...value].find((c) => !NAME_PATTERN.test(c))!;
    return `${what} contains ${JSON.stringify(bad)}; allowed are A-Z, a-z, 0-9, "_" and "-"`;
  }
  return undefined;
}
