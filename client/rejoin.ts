// Joining again when the server lost a call's session (it restarted, the
// room's worker died, the resume was refused, the media failed for good): the
// same room, as the same person, with backoff (retry.ts) until a deadline.
// Which losses a new join repairs, and which refusals end the call, are
// decided here; the call runs its own join sequence for each attempt. One
// rejoin at a time, run by the call; it owns nothing once it returns.
import type { LeaveReason } from '../protocol/messages.ts';
import { retry } from './retry.ts';
import { SignalingError } from './signaling.ts';

/** How long a call keeps trying to rejoin by default (CallOptions.rejoinForMs). */
export const DEFAULT_REJOIN_FOR_MS = 60_000;

/** Why the server may have lost our session in a way a new join repairs. */
const REJOIN_AFTER: ReadonlySet<LeaveReason> = new Set(['disconnected', 'workerDied', 'serverShutdown']);
/** Refusals another join attempt would get again. */
const FINAL_REFUSALS: ReadonlySet<string> = new Set([
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_WRONG_ROOM',
  'FORBIDDEN',
  'UNSUPPORTED_PROTOCOL',
  'INVALID_MESSAGE',
]);

/** Whether a call that lost its session for `reason` joins again. */
export function rejoinsAfter(reason: LeaveReason): boolean {
  return REJOIN_AFTER.has(reason);
}

export interface RejoinOptions {
  /** No attempt starts after this time (Date.now()). */
  deadline: number;
  /** Whether the call is closing (nothing is rejoined then). */
  stopped(): boolean;
  /** Attempt `attempt` (1, 2, …): a new connection and join. */
  join(attempt: number): Promise<void>;
  /** An attempt failed: drop what it set up. */
  failed(): void;
}

/** Rejoins; resolves with whether it did, and the last attempt's error if it did not. */
export async function rejoin(o: RejoinOptions): Promise<{ rejoined: true } | { rejoined: false; error?: Error }> {
  const outcome = await retry({
    deadline: o.deadline,
    stopped: o.stopped,
    attempt: o.join,
    failed: (err) => {
      o.failed();
      return err instanceof SignalingError && FINAL_REFUSALS.has(err.code);
    },
  });
  if (outcome.ok) return { rejoined: true };
  const err = outcome.lastError;
  return { rejoined: false, error: err === undefined ? undefined : err instanceof Error ? err : new Error(String(err)) };
}
