// What a screen reader hears about the room (the page's aria-live region): joins,
// leaves, mutes and raised hands, from the notification and the state before it.
import type { Notification, ParticipantInfo, RaisedHand } from '../../protocol/messages.ts';

interface Before {
  selfId?: string;
  participants: readonly ParticipantInfo[];
  hands: readonly RaisedHand[];
}

/** The sentence for `n`, or undefined when it is nothing to announce. */
export function announcementFor(n: Notification, before: Before): string | undefined {
  const name = (id: string) =>
    id === before.selfId ? 'You' : (before.participants.find((p) => p.id === id)?.displayName ?? 'Someone');
  switch (n.notification) {
    case 'participantJoined':
      return `${n.data.participant.displayName} joined`;
    case 'participantLeft':
      return n.data.participantId === before.selfId ? undefined : `${name(n.data.participantId)} left`;
    case 'producerPaused':
      return `${name(n.data.participantId)} muted`;
    case 'producerResumed':
      return `${name(n.data.participantId)} unmuted`;
    case 'forceMuted':
      return 'A moderator muted you';
    case 'raisedHands': {
      const was = new Set(before.hands.map((h) => h.participantId));
      const now = new Set(n.data.hands.map((h) => h.participantId));
      const raised = [...now].filter((id) => !was.has(id)).map((id) => `${name(id)} raised ${id === before.selfId ? 'your' : 'a'} hand`);
      // A leaver's hand left the state with them (participantLeft), so what went here was lowered.
      const lowered = [...was].filter((id) => !now.has(id)).map((id) => `${id === before.selfId ? 'Your' : `${name(id)}'s`} hand is lowered`);
      return [...raised, ...lowered].join('. ') || undefined;
    }
    default:
      return undefined;
  }
}
