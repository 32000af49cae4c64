// The raised-hand queue: order, one hand each, moderators lowering others, the rate bound.
import { describe, expect, it } from 'vitest';
import { RaisedHands } from '../../sfu/rooms/hands.ts';

const ids = (h: RaisedHands) => h.list().map((x) => x.participantId);
const code = (f: () => void) => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('RaisedHands', () => {
  it('keeps hands in the order they went up, with the time each did', () => {
    const h = new RaisedHands();
    h.raise('b', 1000);
    h.raise('a', 2000);
    h.raise('c', 3000);
    expect(ids(h)).toEqual(['b', 'a', 'c']);
    expect(h.list()[0]).toEqual({ participantId: 'b', at: new Date(1000).toISOString() });
  });

  it('puts a hand raised again at the end, not back in its old place', () => {
    const h = new RaisedHands();
    h.raise('a', 0);
    h.raise('b', 1);
    h.lower('a', 2);
    h.raise('a', 3);
    expect(ids(h)).toEqual(['b', 'a']);
  });

  it('refuses a second raise and lowering a hand that is down (INVALID_STATE)', () => {
    const h = new RaisedHands();
    h.raise('a', 0);
    expect(code(() => h.raise('a', 1))).toBe('INVALID_STATE');
    expect(code(() => h.lower('b', 1))).toBe('INVALID_STATE');
    expect(code(() => h.lower('b', 1, { byOther: true }))).toBe('INVALID_STATE');
    expect(ids(h)).toEqual(['a']);
  });

  it("lets a moderator lower someone's hand, keeping the others' order", () => {
    const h = new RaisedHands();
    for (const [i, id] of ['a', 'b', 'c'].entries()) h.raise(id, i);
    h.lower('b', 10, { byOther: true });
    expect(ids(h)).toEqual(['a', 'c']);
  });

  it('bounds own raises and lowers per window (RATE_LIMITED), and frees them after the window', () => {
    const h = new RaisedHands({ rateLimit: 4, rateWindowMs: 10_000 });
    h.raise('a', 0);
    h.lower('a', 1);
    h.raise('a', 2);
    h.lower('a', 3);
    expect(code(() => h.raise('a', 4))).toBe('RATE_LIMITED');
    expect(h.isRaised('a')).toBe(false);
    // Someone else is not affected; a moderator's lowering is not counted against the owner.
    h.raise('b', 5);
    h.raise('a', 10_000);
    h.lower('a', 10_001, { byOther: true });
    expect(ids(h)).toEqual(['b']);
  });

  it('forgets a participant who left, hand and limit', () => {
    const h = new RaisedHands({ rateLimit: 1, rateWindowMs: 10_000 });
    h.raise('a', 0);
    expect(h.forget('a')).toBe(true);
    expect(h.forget('a')).toBe(false);
    expect(ids(h)).toEqual([]);
    h.raise('a', 1); // a fresh limit
  });
});
