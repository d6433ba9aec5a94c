/**
 * A boolean option with an environment-variable fallback (clipanion reads
 * variables for string options only): the flag when given (--x / --no-x),
 * else the variable ("0", "false", "no" and "" are false), else `fallback`.
 */
export function booleanOption(flag: boolean | undefined, variable: string, fallback: boolean): boolean {
  if (flag !== undefined) return flag;
  const value = process.env[variable];
  return value === undefined ? fallback : !['0', 'false', 'no', ''].includes(value.trim().toLowerCase());
}
