// The messages nodes of a room spanning nodes send each other about its people:
// what passes the check on arrival, and what is dropped.
import { describe, expect, it } from 'vitest';
import { MAX_NODES } from '../../sfu/rooms/peopleElsewhere.ts';
import { moderateRequest, nodesOf, spanMessage } from '../../sfu/cluster/spanMessages.ts';

const at = new Date(0).toISOString();
const person = { id: 'p1', displayName: 'Ada', role: 'speaker', muted: false, identity: 'ada', joinedAt: at };

describe('spanState messages', () => {
  it('accepts each kind as nodes send it', () => {
    const ok = [
      { room: 'r', kind: 'snapshot', nodes: [{ node: 'b', people: [person], hands: [{ participantId: 'p1', at }] }], chat: [], removed: ['eve'], hello: true },
      { room: 'r', kind: 'joined', node: 'b', person },
      { room: 'r', kind: 'left', node: 'b', participantId: 'p1', reason: 'removed' },
      { room: 'r', kind: 'muted', node: 'b', participantId: 'p1', muted: true },
      { room: 'r', kind: 'hands', node: 'b', hands: [] },
      { room: 'r', kind: 'chat', node: 'b', message: { id: 'm', participantId: 'p1', displayName: 'Ada', text: 'hi', at } },
      { room: 'r', kind: 'removed', node: 'b', identity: 'eve' },
      { room: 'r', kind: 'gone', node: 'b', reason: 'disconnected' },
    ];
    for (const m of ok) expect(spanMessage.safeParse(m).success, m.kind).toBe(true);
    expect(nodesOf(spanMessage.parse(ok[0]))).toEqual(['b']);
  });

  it('refuses unknown kinds, unknown fields, wrong types, bad reasons and times that do not sort', () => {
    const bad = [
      null,
      'joined',
      { room: 'r', kind: 'teleport', node: 'b' },
      { room: 'r', kind: 'joined', node: 'b', person, extra: 1 },
      { room: 'r', kind: 'joined', node: 'b', person: { ...person, role: 'king' } },
      { room: 'r', kind: 'left', node: 'b', participantId: 'p1', reason: 'bored' },
      { room: 'r', kind: 'muted', node: 'b', participantId: 'p1', muted: 'yes' },
      { room: 'r', kind: 'hands', node: 'b', hands: [{ participantId: 'p1', at: '1970-01-01T00:00:00Z' }] },
      { room: 'r', kind: 'chat', node: 'b', message: { id: 'm', participantId: 'p1', displayName: 'Ada', text: 'x'.repeat(1001), at } },
      { room: 'r', kind: 'joined', node: '', person },
      { room: 'r', kind: 'joined', node: 'b', person: { ...person, identity: undefined } },
      { room: 'r', kind: 'joined', node: 'b', person: { ...person, identity: '' } },
      { room: 'r', kind: 'joined', node: 'b', person: { ...person, joinedAt: 'yesterday' } },
    ];
    for (const m of bad) expect(spanMessage.safeParse(m).success, JSON.stringify(m)?.slice(0, 80)).toBe(false);
  });

  it('bounds a snapshot: nodes, people per node', () => {
    const nodes = Array.from({ length: MAX_NODES + 1 }, (_, i) => ({ node: `n${i}`, people: [], hands: [] }));
    expect(spanMessage.safeParse({ room: 'r', kind: 'snapshot', nodes, chat: [], removed: [], hello: false }).success).toBe(false);
    const crowd = Array.from({ length: 10_001 }, (_, i) => ({ ...person, id: `p${i}` }));
    const big = { room: 'r', kind: 'snapshot', nodes: [{ node: 'b', people: crowd, hands: [] }], chat: [], removed: [], hello: false };
    expect(spanMessage.safeParse(big).success).toBe(false);
  });

  it('checks moderate requests', () => {
    expect(moderateRequest.safeParse({ room: 'r', participantId: 'p1', action: { kind: 'forceMute', allowUnmute: false } }).success).toBe(true);
    expect(moderateRequest.safeParse({ room: 'r', participantId: 'p1', action: { kind: 'ban' } }).success).toBe(false);
    expect(moderateRequest.safeParse({ room: 'r', participantId: 'p1', action: { kind: 'remove', forever: true } }).success).toBe(false);
  });
});
