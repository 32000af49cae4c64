import type { ErrorCode } from '../protocol/messages.ts';

/** An error meant for the client: a stable code and a human-readable message. */
export class ChorusError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChorusError';
  }
}
