// Consumers on demand: which consumers a listener holds (sfu/rooms/consumerPolicy.ts).
import { describe, expect, it } from 'vitest';
import { consumerCap, consumersFor, planConsumerSet, warmOrder, warmSetKey } from '../../sfu/rooms/consumerPolicy.ts';
import type { ProducerInfo, SpeakerActivity } from '../../sfu/rooms/forwardingPolicy.ts';

const producers = (ids: string[], muted: string[] = []): ProducerInfo[] =>
  ids.map((producerId) => ({ producerId, muted: muted.includes(producerId) }));
const loudAt = (times: Record<string, number>) => (id: string): SpeakerActivity | undefined =>
  times[id] === undefined ? undefined : { level: -127, lastLoudAt: times[id], speaking: false, sending: false };

describe('the room order: soonest to be heard first', () => {
  it('puts the voices first in ranking order, then the others by when they were last loud, never-loud ones in join order, muted last', () => {
    const order = warmOrder(
      ['v2', 'v1'],
      producers(['a', 'v1', 'b', 'm', 'v2', 'c', 'd'], ['m']),
      loudAt({ v1: 90, v2: 95, b: 10, d: 50, m: 99 }),
    );
    expect(order).toEqual(['v2', 'v1', 'd', 'b', 'a', 'c', 'm']);
  });

  it('drops a ranked voice whose producer is gone', () => {
    expect(warmOrder(['gone', 'a'], producers(['a', 'b']), loudAt({}))).toEqual(['a', 'b']);
  });
});

describe('what one listener holds', () => {
  const order = ['v1', 'v2', 'v3', 'r1', 'r2', 'r3', 'x1', 'x2'];

  it('holds the first cap producers of the order that are not its own', () => {
    expect(consumersFor(order, 'v2', 4)).toEqual(['v1', 'v3', 'r1', 'r2']);
    expect(consumersFor(order, 'x2', 4)).toEqual(['v1', 'v2', 'v3', 'r1']);
    expect(consumersFor(order, undefined, 3)).toEqual(['v1', 'v2', 'v3']);
  });

  it('holds everyone in a room no bigger than cap + 1, and everyone with K = 0', () => {
    expect(consumersFor(['a', 'b', 'c'], 'b', 8)).toEqual(['a', 'c']);
    expect(consumerCap(0, 8)).toBe(Infinity);
    expect(consumersFor(order, 'v1', consumerCap(0, 2))).toHaveLength(7);
  });

  it('never holds fewer than the K forwarded voices', () => {
    expect(consumerCap(3, 8)).toBe(8);
    expect(consumerCap(10, 8)).toBe(10);
  });

  it('closes what is no longer wanted and creates what is missing, best first', () => {
    const held = [
      { consumerId: 'c-v1', producerId: 'v1' },
      { consumerId: 'c-x1', producerId: 'x1' },
      { consumerId: 'c-r1', producerId: 'r1' },
    ];
    expect(planConsumerSet(held, ['v1', 'v2', 'v3', 'r1'])).toEqual({ close: ['c-x1'], create: ['v2', 'v3'] });
    expect(planConsumerSet(held, ['v1', 'x1', 'r1'])).toEqual({ close: [], create: [] });
  });
});

describe('least recently heard leaves first', () => {
  it('someone new who is heard takes the place of the one heard longest ago, and nobody else changes', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const before = warmOrder([], producers(ids), loudAt({ a: 10, b: 20, c: 30, d: 40 }));
    const held = consumersFor(before, undefined, 4);
    expect(held.sort()).toEqual(['a', 'b', 'c', 'd']);
    // f speaks: it is a voice now, at the head of the order.
    const after = warmOrder(['f'], producers(ids), loudAt({ a: 10, b: 20, c: 30, d: 40, f: 50 }));
    const plan = planConsumerSet(
      held.map((p) => ({ consumerId: `c-${p}`, producerId: p })),
      consumersFor(after, undefined, 4),
    );
    expect(plan).toEqual({ close: ['c-a'], create: ['f'] });
  });

  it("the room's key changes exactly when some listener's set would: who is in the first cap, or the first cap + 1", () => {
    const key = (order: string[]) => warmSetKey(order, 2);
    // Order within the first two, or beyond the third: nobody's set changes.
    expect(key(['a', 'b', 'c', 'd'])).toBe(key(['b', 'a', 'c', 'd']));
    expect(key(['a', 'b', 'c', 'd', 'e'])).toBe(key(['a', 'b', 'c', 'e', 'd']));
    // c overtakes b (a switch: c starts as b stops): a listener outside holds {a, c} now, not {a, b}.
    expect(key(['a', 'b', 'c', 'd'])).not.toBe(key(['a', 'c', 'b', 'd']));
    expect(consumersFor(['a', 'c', 'b', 'd'], 'd', 2)).not.toEqual(consumersFor(['a', 'b', 'c', 'd'], 'd', 2));
    // d enters the first three: a's set ({b, c} then {b, d}) changes.
    expect(key(['a', 'b', 'c', 'd'])).not.toBe(key(['a', 'b', 'd', 'c']));
  });
});
