import type { ErrorCode } from '../protocol/messages.ts';

/** An error meant for the client: a stable code and a human-readable message. */
export class ChorusError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Sent with the error (e.g. WRONG_NODE's wrongNodeData). */
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'ChorusError';
  }
}
