import { useEffect, useMemo, useState } from 'react';
import type { CallState, RoomClient } from '../roomClient.ts';
import { useShortcuts } from '../shortcuts.ts';
import { Announcer } from './Announcer.tsx';
import { AudioSettingsPanel } from './AudioSettingsPanel.tsx';
import { CallNotices } from './CallNotices.tsx';
import { ChatPanel } from './ChatPanel.tsx';
import { CopyLinkButton } from './CopyLinkButton.tsx';
import { ParticipantList } from './ParticipantList.tsx';
import { RemoteAudio } from './RemoteAudio.tsx';
import { StatsPanel } from './StatsPanel.tsx';

interface Props {
  client: RoomClient;
  state: CallState;
  /** The room's shareable link, and whether it carries this page's (personal) invitation. */
  share: { link: string; personal: boolean };
}

export function CallView({ client, state, share }: Props) {
  const joined = state.phase === 'joined';
  const handRaised = state.hands.some((h) => h.participantId === state.selfId);
  const canMute = joined && !state.micError && state.role !== 'listener' && !(state.forceMuted && !state.forceMuted.allowUnmute);
  const pushToTalk = state.settings.pushToTalk;
  const shortcuts = useMemo(
    () => ({
      toggleMute: () => void client.setMuted(!client.getSnapshot().muted),
      talk: pushToTalk ? (held: boolean) => client.talk(held) : undefined,
    }),
    [client, pushToTalk],
  );
  useShortcuts(canMute, shortcuts);
  // Browsers start audio only after the person interacts with the page: the first click or key does.
  useEffect(() => {
    const resume = () => client.playback.resume();
    window.addEventListener('pointerdown', resume);
    window.addEventListener('keydown', resume);
    return () => {
      window.removeEventListener('pointerdown', resume);
      window.removeEventListener('keydown', resume);
    };
  }, [client]);
  const [statsOpen, setStatsOpen] = useState(false);
  return (
    <section className="call" data-testid="call" data-phase={state.phase}>
      <header className="call-header">
        <h2>
          Room <span data-testid="room-name">{state.room}</span>
          {!joined && <small> — connecting…</small>}
        </h2>
        <CopyLinkButton link={share.link} personal={share.personal} />
      </header>
      <CallNotices client={client} state={state} />
      <div className="controls" role="group" aria-label="Call controls">
        <button
          data-testid="mute"
          aria-pressed={state.muted}
          aria-keyshortcuts="M"
          title="Shortcut: M"
          disabled={!canMute}
          onClick={() => void client.setMuted(!state.muted)}
        >
          {state.muted ? 'Unmute' : 'Mute'}
        </button>
        <button data-testid="raise-hand" aria-pressed={handRaised} disabled={!joined} onClick={() => void client.setHandRaised(!handRaised)}>
          {handRaised ? 'Lower hand' : 'Raise hand'}
        </button>
        <label>
          Microphone{' '}
          <select
            data-testid="mic-select"
            value={state.micId ?? ''}
            disabled={!joined || !!state.micError}
            onChange={(e) => void client.selectMic(e.target.value)}
          >
            {state.mics.map((m) => (
              <option key={m.deviceId} value={m.deviceId}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
        <button data-testid="stats-toggle" aria-expanded={statsOpen} aria-controls="stats-panel" onClick={() => setStatsOpen(!statsOpen)}>
          {statsOpen ? 'Hide stats' : 'Show stats'}
        </button>
        <button data-testid="leave" className="leave" onClick={() => void client.leave()}>
          Leave
        </button>
      </div>
      <AudioSettingsPanel settings={state.settings} onChange={(patch) => void client.setAudioSettings(patch)} />
      <ParticipantList
        self={{
          id: state.selfId,
          name: state.displayName ?? '',
          muted: state.muted,
          speaking: state.speaking,
          level: state.level,
          isDominant: state.dominantId !== undefined && state.dominantId === state.selfId,
          quality: state.quality,
        }}
        participants={state.participants}
        dominantId={state.dominantId}
        hands={state.hands}
        volumes={state.volumes}
        onVolume={(id, v) => client.setVolume(id, v)}
        moderate={
          state.role === 'moderator'
            ? {
                forceMute: (id) => void client.forceMute(id),
                remove: (id) => void client.remove(id),
                lowerHand: (id) => void client.lowerHand(id),
              }
            : undefined
        }
      />
      {statsOpen && <StatsPanel transports={state.stats} participants={state.participants} />}
      <ChatPanel messages={state.chat} error={state.chatError} selfId={state.selfId} onSend={(t) => client.sendChat(t)} />
      {state.participants.map((p) =>
        p.stream ? (
          <RemoteAudio
            key={p.id}
            participantId={p.id}
            stream={p.stream}
            gain={state.volumes[p.id] ?? 1}
            playback={client.playback}
            blocked={state.audioBlocked}
            onBlocked={() => client.setAudioBlocked(true)}
          />
        ) : null,
      )}
      <Announcer announcements={state.announcements} />
    </section>
  );
}
