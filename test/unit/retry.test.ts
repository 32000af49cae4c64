// Trying again with backoff (client/retry.ts) and the rejoin's policy on top of
// it (client/rejoin.ts): which losses a new join repairs, which refusals end it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rejoin, rejoinsAfter } from '../../client/rejoin.ts';
import { backoffMs, type RetryOptions, retry } from '../../client/retry.ts';
import { SignalingError } from '../../client/signaling.ts';
import { leaveReasons } from '../../protocol/messages.ts';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

/** Runs `p` with the fake clock moving on, until it settles. */
async function settle<T>(p: Promise<T>): Promise<T> {
  let done = false;
  void p.finally(() => (done = true));
  while (!done) await vi.advanceTimersByTimeAsync(50);
  return p;
}

/** retry() on the fake clock: a minute to go, never stopped, failures retried, unless `options` say otherwise. */
const retrying = (options: Partial<RetryOptions> & Pick<RetryOptions, 'attempt'>) =>
  settle(retry({ deadline: Date.now() + 60_000, stopped: () => false, failed: () => false, ...options }));

describe('backoffMs', () => {
  it('starts near 100 ms, doubles from 250 ms, stays under 5 s, each within ±30 %', () => {
    for (let i = 0; i < 50; i++) {
      const [first, second, third, late] = [backoffMs(1), backoffMs(2), backoffMs(3), backoffMs(20)];
      expect(first).toBeGreaterThanOrEqual(70);
      expect(first).toBeLessThanOrEqual(130);
      expect(second).toBeGreaterThanOrEqual(175);
      expect(second).toBeLessThanOrEqual(325);
      expect(third).toBeGreaterThanOrEqual(350);
      expect(third).toBeLessThanOrEqual(650);
      expect(late).toBeGreaterThanOrEqual(3500);
      expect(late).toBeLessThanOrEqual(6500);
    }
  });
});

describe('retry', () => {
  it('tries again after each failure until an attempt works', async () => {
    const attempts: number[] = [];
    const outcome = await retrying({
      attempt: async (n) => {
        attempts.push(n);
        if (n < 3) throw new Error(`attempt ${n} failed`);
      },
    });
    expect(outcome).toEqual({ ok: true });
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('gives up at once when a failure says so, with that failure', async () => {
    const refusal = new Error('no');
    let attempts = 0;
    const outcome = await retrying({
      attempt: async () => {
        attempts++;
        throw refusal;
      },
      failed: (err) => err === refusal,
    });
    expect(outcome).toEqual({ ok: false, why: 'gaveUp', lastError: refusal });
    expect(attempts).toBe(1);
  });

  it('starts no attempt after the deadline, and reports the last failure', async () => {
    const started = Date.now();
    const startedAt: number[] = [];
    const outcome = await retrying({
      deadline: started + 2_000,
      attempt: async (n) => {
        startedAt.push(Date.now());
        throw new Error(`attempt ${n}`);
      },
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.ok || outcome.why).toBe('deadline');
    expect(startedAt.length).toBeGreaterThan(1);
    expect(startedAt.every((t) => t <= started + 2_000)).toBe(true);
    expect(!outcome.ok && (outcome.lastError as Error).message).toBe(`attempt ${startedAt.length}`);
  });

  it('stops when the caller does, during a delay too, without another attempt', async () => {
    for (const when of ['at once', 'during the delay'] as const) {
      let stop = false;
      let attempts = 0;
      const outcome = await retrying({
        stopped: () => stop,
        attempt: async () => {
          attempts++;
          if (when === 'at once') stop = true;
          else setTimeout(() => (stop = true), 10); // the next delay is longer
          throw new Error('failed');
        },
      });
      expect(outcome.ok || outcome.why, when).toBe('stopped');
      expect(attempts, when).toBe(1);
    }
  });
});

describe('rejoin', () => {
  it('joins again only after losing the session to a disconnection, a dead worker or a server shutdown', () => {
    expect(leaveReasons.filter(rejoinsAfter)).toEqual(['disconnected', 'workerDied', 'serverShutdown']);
  });

  it('ends at once on a refusal another join would get again (a bad token, a removal), dropping what the attempt set up', async () => {
    for (const code of ['TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_WRONG_ROOM', 'FORBIDDEN', 'UNSUPPORTED_PROTOCOL', 'INVALID_MESSAGE'] as const) {
      let joins = 0;
      let dropped = 0;
      const refusal = new SignalingError(code, 'refused');
      const outcome = await settle(
        rejoin({
          deadline: Date.now() + 60_000,
          stopped: () => false,
          join: async () => {
            joins++;
            throw refusal;
          },
          failed: () => void dropped++,
        }),
      );
      expect(outcome, code).toEqual({ rejoined: false, error: refusal });
      expect([joins, dropped], code).toEqual([1, 1]);
    }
  });

  it('keeps trying through a server that is away or busy, until it takes the join', async () => {
    const errors = [new SignalingError('UNREACHABLE', 'down'), new SignalingError('SERVER_BUSY', 'busy'), new SignalingError('ROOM_CLOSED', 'closing')];
    let joins = 0;
    const outcome = await settle(
      rejoin({
        deadline: Date.now() + 60_000,
        stopped: () => false,
        join: async () => {
          const err = errors[joins++];
          if (err) throw err;
        },
        failed: () => {},
      }),
    );
    expect(outcome).toEqual({ rejoined: true });
    expect(joins).toBe(4);
  });
});
