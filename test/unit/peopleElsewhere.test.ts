// A room's copy of its people on other nodes: what its own people are told as
// it changes, its bounds, the one queue of raised hands, and chat messages
// from elsewhere kept in posting order.
import { describe, expect, it } from 'vitest';
import type { ChatMessage, NotificationName, ParticipantInfo } from '../../protocol/messages.ts';
import { RoomChat } from '../../sfu/rooms/chat.ts';
import { Participant } from '../../sfu/rooms/participant.ts';
import { type ElsewhereHost, MAX_NODES, PeopleElsewhere, type PersonElsewhere, mergeHands } from '../../sfu/rooms/peopleElsewhere.ts';

const at = (ms: number) => new Date(ms).toISOString();
/** What clients are told of someone elsewhere. */
const info = (id: string, muted = false): ParticipantInfo => ({ id, displayName: id.toUpperCase(), role: 'speaker', muted });
/** Someone elsewhere as their node tells of them (identity and join time for the nodes only). */
const person = (id: string, muted = false): PersonElsewhere => ({ ...info(id, muted), identity: `${id}-identity`, joinedAt: at(1) });

function view(options: { maxPeople?: number; here?: string[]; mirrors?: Participant[] } = {}) {
  const told: [NotificationName, unknown][] = [];
  let handsChanged = 0;
  let reranked = 0;
  const host: ElsewhereHost = {
    name: 'r',
    maxPeople: options.maxPeople ?? 10,
    broadcast: (name, data) => void told.push([name, data]),
    isHere: (id) => (options.here ?? []).includes(id),
    mirror: (id) => options.mirrors?.find((m) => m.id === id),
    mirrorMuted: () => void reranked++,
    handsChanged: () => void handsChanged++,
  };
  return { e: new PeopleElsewhere(host), told, hands: () => handsChanged, reranked: () => reranked };
}

describe('PeopleElsewhere', () => {
  it('tells the people here who joins, mutes and leaves elsewhere, with the reason their node gave', () => {
    const { e, told } = view();
    e.joined('b', person('x'));
    e.muted('b', 'x', true);
    e.muted('b', 'x', true); // no change: nothing told
    e.left('b', 'x', 'removed');
    expect(told).toEqual([
      ['participantJoined', { participant: info('x') }],
      ['producerPaused', { participantId: 'x' }],
      ['participantLeft', { participantId: 'x', reason: 'removed' }],
    ]);
    expect(e.list()).toEqual([]);
  });

  it('applies a snapshot as the differences from what it knew', () => {
    const { e, told } = view();
    e.replace('b', [person('x'), person('y')], []);
    told.length = 0;
    e.replace('b', [person('y', true), person('z')], []);
    expect(told).toEqual([
      ['participantLeft', { participantId: 'x', reason: 'disconnected' }],
      ['producerPaused', { participantId: 'y' }],
      ['participantJoined', { participant: info('z') }],
    ]);
    expect(e.nodeOf('z')).toBe('b');
    expect(e.nodeOf('x')).toBeUndefined();
  });

  it('counts the people of each node and knows their identities, but tells clients neither identity nor join time', () => {
    const { e, told } = view();
    e.joined('b', person('x'));
    e.joined('b', person('y'));
    e.joined('c', person('z'));
    expect([e.count('b'), e.count('c'), e.count('nowhere'), e.count()]).toEqual([2, 1, 0, 3]);
    expect(e.hasIdentity('z-identity')).toBe(true);
    expect(e.hasIdentity('w-identity')).toBe(false);
    expect(e.list()).toEqual([info('x'), info('y'), info('z')]);
    expect(told.map(([, data]) => data)).toEqual(['x', 'y', 'z'].map((id) => ({ participant: info(id) })));
    expect(e.everyone().map((p) => [p.node, p.id, p.identity])).toEqual([['b', 'x', 'x-identity'], ['b', 'y', 'y-identity'], ['c', 'z', 'z-identity']]);
    e.left('b', 'x', 'left');
    expect([e.count('b'), e.count()]).toEqual([1, 2]);
  });

  it('keeps at most maxPeople per node and MAX_NODES nodes, and never shadows someone here or on another node', () => {
    const { e } = view({ maxPeople: 2, here: ['local'] });
    for (const id of ['a', 'b', 'c', 'local']) e.joined('n1', person(id));
    e.joined('n2', person('a'));
    expect(e.of('n1').people.map((p) => p.id)).toEqual(['a', 'b']);
    expect(e.of('n2').people).toEqual([]);
    for (let i = 0; i < MAX_NODES + 5; i++) e.joined(`node-${i}`, person(`p${i}`));
    expect(e.nodes().length).toBe(MAX_NODES);
  });

  it('takes hands only of the node\'s own people, once each, and drops a leaver\'s', () => {
    const { e, hands } = view();
    e.joined('b', person('x'));
    e.joined('b', person('y'));
    e.setHands('b', [
      { participantId: 'x', at: at(1) },
      { participantId: 'x', at: at(2) },
      { participantId: 'stranger', at: at(3) },
      { participantId: 'y', at: at(4) },
    ]);
    expect(e.hands([]).map((h) => h.participantId)).toEqual(['x', 'y']);
    e.left('b', 'x', 'left');
    expect(e.hands([]).map((h) => h.participantId)).toEqual(['y']);
    expect(hands()).toBe(2);
  });

  it('drops everyone of a node that is gone', () => {
    const { e, told, hands } = view();
    e.joined('b', person('x'));
    e.setHands('b', [{ participantId: 'x', at: at(1) }]);
    told.length = 0;
    e.gone('b', 'disconnected');
    expect(told).toEqual([['participantLeft', { participantId: 'x', reason: 'disconnected' }]]);
    expect(e.list()).toEqual([]);
    expect(hands()).toBe(2);
  });

  it('gives a mirror its person\'s mute, when it comes and when it changes', () => {
    const mirror = new Participant('x-identity', 'X', 'speaker', { notify() {} }, { id: 'x', remote: { kind: 'mirror', node: 'b' } });
    const { e, reranked } = view({ mirrors: [mirror] });
    e.joined('b', person('x', true));
    expect(mirror.muted).toBe(true);
    e.muted('b', 'x', false);
    expect(mirror.muted).toBe(false);
    expect(reranked()).toBe(2);
    const late = new Participant('x-identity', 'X', 'speaker', { notify() {} }, { id: 'x', remote: { kind: 'mirror', node: 'b' } });
    e.muted('b', 'x', true);
    e.mirrorAdded(late);
    expect(late.muted).toBe(true);
  });

  it('asks the node a person is on; NOT_FOUND for nobody', async () => {
    const { e } = view();
    const asked: unknown[] = [];
    e.ask = async (node, id, action) => void asked.push([node, id, action]);
    e.joined('b', person('x'));
    await e.act('x', { kind: 'remove' });
    expect(asked).toEqual([['b', 'x', { kind: 'remove' }]]);
    await expect(e.act('nobody', { kind: 'remove' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('mergeHands', () => {
  it('orders the hands of several nodes by when they went up, ties by id, the same whichever node merges', () => {
    const here = [{ participantId: 'h1', at: at(10) }, { participantId: 'h2', at: at(30) }];
    const there = [{ participantId: 't1', at: at(20) }, { participantId: 'a0', at: at(30) }];
    const ids = (hs: { participantId: string }[]) => hs.map((h) => h.participantId);
    expect(ids(mergeHands(here, there))).toEqual(['h1', 't1', 'a0', 'h2']);
    expect(ids(mergeHands(there, here))).toEqual(['h1', 't1', 'a0', 'h2']);
  });

  it('keeps one node\'s queue as it is', () => {
    const here = [{ participantId: 'b', at: at(5) }, { participantId: 'a', at: at(5) }];
    expect(mergeHands(here, []).map((h) => h.participantId)).toEqual(['b', 'a']);
  });
});

describe('RoomChat.add', () => {
  const message = (id: string, ms: number): ChatMessage => ({ id, participantId: 'p', displayName: 'P', text: id, at: at(ms) });

  it('keeps messages from elsewhere in posting order, once, within the history size', () => {
    const chat = new RoomChat({ historySize: 3, rateLimit: 10, rateWindowMs: 1000 });
    expect(chat.add(message('b', 20))).toBe(true);
    expect(chat.add(message('a', 10))).toBe(true);
    expect(chat.add(message('a', 10))).toBe(false);
    expect(chat.add(message('c', 30))).toBe(true);
    expect(chat.add(message('d', 40))).toBe(true);
    expect(chat.history.map((m) => m.id)).toEqual(['b', 'c', 'd']);
    expect(chat.add(message('old', 5))).toBe(false);
    expect(chat.history.map((m) => m.id)).toEqual(['b', 'c', 'd']);
  });
});
