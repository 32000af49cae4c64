// Whom a Node client has been told of (the join's participants, then
// participantJoined/Left and producerPaused/Resumed, in order), for tests of
// rooms across nodes: one call's roster wherever its people sit.
import type { NodePeer } from '../../client/node/nodePeer.ts';
import { until } from './wait.ts';

export interface Seen {
  displayName: string;
  muted: boolean;
}

/** Whom `p` is told of: the join's participants, then participantJoined/Left and producerPaused/Resumed in order. */
export function roster(p: NodePeer): Map<string, Seen> {
  const people = new Map<string, Seen>(p.call.joined.participants.map((x) => [x.id, { displayName: x.displayName, muted: x.muted }]));
  for (const n of p.signaling.notifications) {
    if (n.notification === 'participantJoined') people.set(n.data.participant.id, { ...n.data.participant });
    else if (n.notification === 'participantLeft') people.delete(n.data.participantId);
    else if (n.notification === 'producerPaused' || n.notification === 'producerResumed') {
      const seen = people.get(n.data.participantId);
      if (seen) seen.muted = n.notification === 'producerPaused';
    }
  }
  return people;
}

/** Waits until `p` is told of exactly `others` (by id), with each one's mute as `muted` says. */
export function seesOnly(p: NodePeer, others: NodePeer[], what: string, muted: (id: string) => boolean = () => false) {
  const want = others.map((o) => `${o.participantId}:${muted(o.participantId)}`).sort();
  const has = () => [...roster(p)].map(([id, s]) => `${id}:${s.muted}`).sort();
  return until(() => JSON.stringify(has()) === JSON.stringify(want), () => `${what}: wanted ${want.join(' ')}, has ${has().join(' ')}`, 20_000);
}
