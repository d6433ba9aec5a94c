import type { WorkerErrorCode } from './protocol.js';

/** A request failure with the code the control plane reports to the client. */
export class WorkerRequestError extends Error {
  constructor(
    readonly code: WorkerErrorCode,
    message: string,
  ) {
    super(message);
  }
}
