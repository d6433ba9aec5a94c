/** JetStream's "wrong last sequence": a compare-and-set on a KV key lost (the key changed since the revision given). */
const WRONG_LAST_SEQUENCE = 10071;

export function isWrongRevision(error: unknown): boolean {
  return (error as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code === WRONG_LAST_SEQUENCE;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
