import { SignalingError } from '../../client/signaling.ts';

/** A sentence for the person in the call: what went wrong and what to do. */
export function describeError(err: unknown): string {
  if (err instanceof SignalingError) {
    switch (err.code) {
      case 'UNREACHABLE':
        return 'The Chorus server cannot be reached. Check the address and that the server is running.';
      case 'UNSUPPORTED_PROTOCOL':
        return `This page is out of date for the server (${err.message}). Reload the page.`;
      case 'CONNECTION_CLOSED':
        return 'The connection to the server was lost. Rejoin to continue.';
      default:
        return `The server refused: ${err.message} (${err.code})`;
    }
  }
  return `Something went wrong: ${(err as Error).message ?? String(err)}`;
}
