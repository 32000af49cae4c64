import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../sfu/util/rateLimiter.ts';

describe('RateLimiter', () => {
  it('allows `limit` events per sliding window and says when the next is allowed', () => {
    const r = new RateLimiter(3, 1000);
    expect([r.tryTake(0), r.tryTake(100), r.tryTake(200)]).toEqual([true, true, true]);
    expect(r.tryTake(300)).toBe(false);
    expect(r.retryAfter(300)).toBe(700);
    expect(r.tryTake(999)).toBe(false);
    expect(r.tryTake(1000)).toBe(true); // the event at 0 left the window
    expect(r.tryTake(1050)).toBe(false);
  });
});
