import type { RemoteParticipant } from '../roomClient.ts';
import { LevelMeter } from './LevelMeter.tsx';

interface Props {
  self: { name: string; muted: boolean; speaking: boolean; isDominant: boolean };
  participants: RemoteParticipant[];
  dominantId?: string;
}

export function ParticipantList({ self, participants, dominantId }: Props) {
  return (
    <ul className="participants" data-testid="participants">
      <li
        data-testid="participant-self"
        data-muted={self.muted}
        data-speaking={self.speaking}
        className={self.speaking ? 'speaking' : undefined}
      >
        <span className="name">
          {self.name} (you){self.isDominant && <Dominant />}
        </span>
        {self.muted && <span className="muted">muted</span>}
      </li>
      {participants.map((p) => (
        <li
          key={p.id}
          data-testid="participant"
          data-participant-id={p.id}
          data-muted={p.muted}
          data-speaking={p.speaking}
          className={p.speaking ? 'speaking' : undefined}
        >
          <span className="name">
            {p.displayName}
            {p.id === dominantId && <Dominant />}
          </span>
          {p.muted ? <span className="muted">muted</span> : <LevelMeter level={p.level} label={`${p.displayName}'s level`} />}
        </li>
      ))}
    </ul>
  );
}

function Dominant() {
  return (
    <span className="dominant" title="Speaking most" aria-label="speaking most">
      {' '}
      ★
    </span>
  );
}
