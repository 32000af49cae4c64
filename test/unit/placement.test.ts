import { describe, expect, it } from 'vitest';
import { BUSY_CPU, pickNode } from '../../sfu/cluster/placement.ts';
import { nodeInfo as node } from '../support/nodeInfo.ts';

describe('placement of a new room', () => {
  it('picks the node with the fewest participants, then the fewest rooms', () => {
    expect(pickNode([node('a', { participants: 5 }), node('b', { participants: 2 }), node('c', { participants: 9 })])?.id).toBe('b');
    expect(pickNode([node('a', { participants: 2, rooms: 3 }), node('b', { participants: 2, rooms: 1 })])?.id).toBe('b');
  });

  it('never picks a draining node, nor the excluded one; none left: undefined', () => {
    expect(pickNode([node('a', { draining: true, participants: 0 }), node('b', { participants: 40 })])?.id).toBe('b');
    expect(pickNode([node('a'), node('b', { participants: 3 })], { exclude: 'a' })?.id).toBe('b');
    expect(pickNode([node('a', { draining: true })])).toBeUndefined();
    expect(pickNode([])).toBeUndefined();
  });

  it('puts a node whose every worker is busy last, whatever its participants', () => {
    const hot = node('a', { participants: 1, workerCpu: [BUSY_CPU, 0.99] });
    expect(pickNode([hot, node('b', { participants: 30, workerCpu: [0.9, 0.2] })])?.id).toBe('b');
    expect(pickNode([hot])?.id).toBe('a'); // better than refusing the room
  });

  it('breaks ties for the asking node (no redirect), then by id, the same on every node', () => {
    expect(pickNode([node('a'), node('b')], { prefer: 'b' })?.id).toBe('b');
    expect(pickNode([node('b'), node('a')])?.id).toBe('a');
    expect(pickNode([node('a'), node('b', { participants: 1 })], { prefer: 'b' })?.id).toBe('a'); // only ties
  });
});
