// Where the next joiner of a room spanning nodes goes when the node asked is at
// its per-node cap (sfu/cluster/spanSeats.ts): the room's nodes with a seat
// first, the owner first, then a new node, least loaded; never a draining one.
import { describe, expect, it } from 'vitest';
import { seatFor } from '../../sfu/cluster/spanSeats.ts';
import { nodeInfo as node } from '../support/nodeInfo.ts';

const live = [node('a'), node('b'), node('c', { participants: 7 }), node('d', { participants: 3 })];
const ask = (self: string, owner: string, people: Record<string, number>, nodes = live) =>
  seatFor({ self, owner, cap: 2, people: new Map(Object.entries(people)), live: nodes })?.id;

describe('the seat of a joiner of a room spanning nodes', () => {
  it('goes to a node of the room with a free seat: the owner first, then the fullest satellite', () => {
    expect(ask('b', 'a', { a: 1, b: 2 })).toBe('a');
    expect(ask('b', 'd', { a: 1, b: 2, d: 0 })).toBe('d');
    expect(ask('a', 'a', { a: 2, b: 0, c: 1 })).toBe('c');
    expect(ask('c', 'a', { a: 2, b: 1, c: 2 })).toBe('b');
  });

  it('opens a new satellite on the least-loaded live node not in the room when every node of it is full', () => {
    expect(ask('a', 'a', { a: 2 })).toBe('b');
    expect(ask('b', 'a', { a: 2, b: 2 })).toBe('d');
    expect(ask('a', 'a', { a: 2, b: 2, d: 2 })).toBe('c');
  });

  it('never a draining node, nor one without heartbeat; nowhere left: it stays where it is asked', () => {
    expect(ask('b', 'a', { a: 1, b: 2 }, [node('a', { draining: true }), node('b'), node('c')])).toBe('c');
    expect(ask('b', 'a', { a: 1, b: 2 }, [node('b')])).toBeUndefined();
    expect(ask('a', 'a', { a: 2, b: 2, c: 2, d: 2 })).toBeUndefined();
  });
});
