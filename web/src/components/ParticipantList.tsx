import type { RemoteParticipant } from '../roomClient.ts';
import { LevelMeter } from './LevelMeter.tsx';

interface Props {
  self: { name: string; muted: boolean; speaking: boolean; isDominant: boolean };
  participants: RemoteParticipant[];
  dominantId?: string;
  /** Present when we are a moderator: actions on others. */
  moderate?: { forceMute(id: string): void; remove(id: string): void };
}

export function ParticipantList({ self, participants, dominantId, moderate }: Props) {
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
            {p.role !== 'speaker' && <span className="role"> ({p.role})</span>}
            {p.id === dominantId && <Dominant />}
          </span>
          {p.muted ? <span className="muted">muted</span> : <LevelMeter level={p.level} label={`${p.displayName}'s level`} />}
          {moderate && (
            <span className="moderate">
              <button data-testid="force-mute" disabled={p.muted} onClick={() => moderate.forceMute(p.id)}>
                Mute
              </button>
              <button data-testid="remove" onClick={() => moderate.remove(p.id)}>
                Remove
              </button>
            </span>
          )}
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
