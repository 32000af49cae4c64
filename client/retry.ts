// Trying again with backoff, as a call does to get its session back (resume.ts:
// the same session on a new socket; rejoin.ts: a new join): one attempt after
// each delay until one works, the caller stops, the deadline passes or a
// failure says another attempt would fail the same way. No Node imports: it
// runs in the browser.

/** Reconnect delays: the first at once (spread a little), then doubling to 5 s, each ±30 %. */
export function backoffMs(attempt: number): number {
  const base = attempt === 1 ? 100 : Math.min(5000, 250 * 2 ** (attempt - 2));
  return base * (0.7 + Math.random() * 0.6);
}

export interface RetryOptions {
  /** No attempt starts after this time (Date.now()). */
  deadline: number;
  /** Whether to stop (asked before each delay and after it). */
  stopped(): boolean;
  /** Attempt number `attempt` (1, 2, …): resolves once it worked. */
  attempt(attempt: number): Promise<void>;
  /** Attempt `attempt` failed with `err`: whether to give up (another would fail the same way). */
  failed(err: unknown, attempt: number): boolean;
}

export type RetryOutcome =
  | { ok: true }
  /** Stopped by the caller, out of time, or given up after a failure; the last failure, if any. */
  | { ok: false; why: 'stopped' | 'deadline' | 'gaveUp'; lastError?: unknown };

/** Runs attempts after backoffMs(1), backoffMs(2), … until one works or the options say stop. */
export async function retry({ deadline, stopped, attempt, failed }: RetryOptions): Promise<RetryOutcome> {
  let lastError: unknown;
  for (let n = 1; !stopped(); n++) {
    await sleep(backoffMs(n));
    if (stopped()) break;
    if (Date.now() > deadline) return { ok: false, why: 'deadline', lastError };
    try {
      await attempt(n);
      return { ok: true };
    } catch (err) {
      lastError = err;
      if (failed(err, n)) return { ok: false, why: 'gaveUp', lastError };
    }
  }
  return { ok: false, why: 'stopped', lastError };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
