import type { RaisedHand } from '../../../protocol/messages.ts';
import type { RemoteParticipant } from '../roomClient.ts';
import type { QualityLevel } from '../../../protocol/connectionQuality.ts';
import { ParticipantRow } from './ParticipantRow.tsx';
import { QualityIndicator } from './QualityIndicator.tsx';
import { VolumeSlider } from './VolumeSlider.tsx';

interface Props {
  self: { id?: string; name: string; muted: boolean; speaking: boolean; level: number; isDominant: boolean; quality?: QualityLevel };
  participants: RemoteParticipant[];
  dominantId?: string;
  hands: RaisedHand[];
  volumes: Record<string, number>;
  onVolume(participantId: string, volume: number): void;
  /** Present when we are a moderator: actions on others (and the hands' order is shown). */
  moderate?: { forceMute(id: string): void; remove(id: string): void; lowerHand(id: string): void };
}

export function ParticipantList({ self, participants, dominantId, hands, volumes, onVolume, moderate }: Props) {
  const handOf = (id: string | undefined) => {
    const i = hands.findIndex((h) => h.participantId === id);
    return i < 0 ? undefined : { position: i + 1, showPosition: !!moderate };
  };
  return (
    <ul className="participants" data-testid="participants" aria-label="Participants">
      <ParticipantRow
        name={self.name}
        tag="you"
        muted={self.muted}
        speaking={self.speaking}
        level={self.level}
        isDominant={self.isDominant}
        hand={handOf(self.id)}
        quality={<QualityIndicator level={self.quality} />}
      />
      {participants.map((p) => {
        const hand = handOf(p.id);
        return (
          <ParticipantRow
            key={p.id}
            id={p.id}
            name={p.displayName}
            tag={p.role !== 'speaker' ? p.role : undefined}
            muted={p.muted}
            speaking={p.speaking}
            level={p.level}
            isDominant={p.id === dominantId}
            hand={hand}
            quality={<QualityIndicator level={p.quality} />}
            volume={<VolumeSlider name={p.displayName} volume={volumes[p.id] ?? 1} onChange={(v) => onVolume(p.id, v)} />}
            actions={
              moderate && (
                <>
                  {hand && (
                    <button data-testid="lower-hand" aria-label={`Lower hand of ${p.displayName}`} onClick={() => moderate.lowerHand(p.id)}>
                      Lower hand
                    </button>
                  )}
                  <button data-testid="force-mute" disabled={p.muted} aria-label={`Mute ${p.displayName}`} onClick={() => moderate.forceMute(p.id)}>
                    Mute
                  </button>
                  <button data-testid="remove" aria-label={`Remove ${p.displayName}`} onClick={() => moderate.remove(p.id)}>
                    Remove
                  </button>
                </>
              )
            }
          />
        );
      })}
    </ul>
  );
}
