import { describe, expect, it } from 'vitest';
import { BUSY_CPU, pickNode, withRecentPlacements } from '../../sfu/cluster/placement.ts';
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

describe('rooms placed faster than heartbeats', () => {
  const now = 10_000;
  it('count as a room and a participant on their node until its heartbeat shows them: the next room goes elsewhere', () => {
    const seen = [node('a', { at: 9_500 }), node('b', { at: 9_500 })];
    // Both look idle; we placed one room on a since a's heartbeat: the next goes to b, though a is the asking node.
    const placed = new Map([['a', [9_800]]]);
    expect(pickNode(withRecentPlacements(seen, placed, now, 2_000), { prefer: 'a' })?.id).toBe('b');
    expect(withRecentPlacements(seen, placed, now, 2_000)[0]).toMatchObject({ rooms: 1, participants: 1 });
    // Two on a, one on b: b again.
    expect(pickNode(withRecentPlacements(seen, new Map([['a', [9_700, 9_800]], ['b', [9_900]]]), now, 2_000), { prefer: 'a' })?.id).toBe('b');
  });

  it('no longer count once the node wrote a heartbeat after them, or after the window', () => {
    const seen = [node('a', { at: 9_900, rooms: 1, participants: 1 }), node('b', { at: 9_500 })];
    expect(withRecentPlacements(seen, new Map([['a', [9_800]]]), now, 2_000)[0]).toMatchObject({ rooms: 1, participants: 1 });
    const stale = [node('a', { at: 5_000 }), node('b', { at: 5_000 })];
    expect(withRecentPlacements(stale, new Map([['a', [7_000]]]), now, 2_000)[0]).toMatchObject({ rooms: 0, participants: 0 });
    expect(pickNode(withRecentPlacements(stale, new Map([['a', [7_000]]]), now, 2_000), { prefer: 'a' })?.id).toBe('a');
  });
});
