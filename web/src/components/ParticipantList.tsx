import type { RemoteParticipant } from '../roomClient.ts';

interface Props {
  self: { name: string; muted: boolean };
  participants: RemoteParticipant[];
}

export function ParticipantList({ self, participants }: Props) {
  return (
    <ul className="participants" data-testid="participants">
      <li data-testid="participant-self" data-muted={self.muted}>
        {self.name} (you){self.muted && <span className="muted"> — muted</span>}
      </li>
      {participants.map((p) => (
        <li key={p.id} data-testid="participant" data-participant-id={p.id} data-muted={p.muted}>
          {p.displayName}
          {p.muted && <span className="muted"> — muted</span>}
        </li>
      ))}
    </ul>
  );
}
