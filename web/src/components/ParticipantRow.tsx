import type { ReactNode } from 'react';
import { LevelMeter } from './LevelMeter.tsx';

export interface RowProps {
  /** The remote participant's id; none on our own row. */
  id?: string;
  name: string;
  /** Shown after the name unless it is `speaker` (or ours: "(you)"). */
  tag?: string;
  muted: boolean;
  speaking: boolean;
  level: number;
  isDominant: boolean;
  /** Their place in the queue of raised hands (1 = first), when their hand is up. */
  hand?: { position: number; showPosition: boolean };
  /** Connection quality indicator, and this person's volume control (remote rows). */
  quality?: ReactNode;
  volume?: ReactNode;
  /** Moderator buttons. */
  actions?: ReactNode;
}

/** One row of the participant list: name and badges, level meter, connection quality, volume, actions. */
export function ParticipantRow({ id, name, tag, muted, speaking, level, isDominant, hand, quality, volume, actions }: RowProps) {
  return (
    <li
      data-testid={id ? 'participant' : 'participant-self'}
      data-participant-id={id}
      data-muted={muted}
      data-speaking={speaking}
      data-hand={hand ? hand.position : undefined}
      className={speaking ? 'speaking' : undefined}
    >
      <span className="name">
        {name}
        {tag && <span className="role"> ({tag})</span>}
        {isDominant && (
          <span className="dominant" role="img" title="Speaking most" aria-label="speaking most">
            {' '}
            ★
          </span>
        )}
        {hand && (
          <span
            className="hand"
            data-testid="hand"
            role="img"
            aria-label={hand.showPosition ? `hand raised, number ${hand.position} in line` : 'hand raised'}
          >
            <span aria-hidden="true">{hand.showPosition ? `Hand #${hand.position}` : 'Hand up'}</span>
          </span>
        )}
      </span>
      <span className="meter">
        {muted ? <span className="muted">muted</span> : <LevelMeter level={level} label={`${name}'s level`} />}
      </span>
      <span className="quality-cell">{quality}</span>
      <span className="volume-cell">{volume}</span>
      {actions && <span className="moderate">{actions}</span>}
    </li>
  );
}
