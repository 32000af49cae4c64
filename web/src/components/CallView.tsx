import type { CallState, RoomClient } from '../roomClient.ts';
import { ChatPanel } from './ChatPanel.tsx';
import { LevelMeter } from './LevelMeter.tsx';
import { ParticipantList } from './ParticipantList.tsx';
import { RemoteAudio } from './RemoteAudio.tsx';

export function CallView({ client, state }: { client: RoomClient; state: CallState }) {
  const joined = state.phase === 'joined';
  return (
    <section className="call" data-testid="call" data-phase={state.phase}>
      <h2>
        Room <span data-testid="room-name">{state.room}</span>
        {!joined && <small> — connecting…</small>}
      </h2>
      {state.reconnecting !== undefined && (
        <p role="status" className="warning" data-testid="reconnecting">
          Reconnecting to the server… (attempt {state.reconnecting}). You still hear and are heard.
        </p>
      )}
      {state.micError && (
        <p role="alert" className="warning" data-testid="mic-error">
          {state.micError}
        </p>
      )}
      {state.forceMuted && (
        <p role="alert" className="warning" data-testid="force-muted">
          A moderator muted you.{' '}
          {state.forceMuted.allowUnmute ? 'You may unmute.' : 'You can unmute when a moderator allows it.'}
        </p>
      )}
      {state.role === 'listener' && <p className="note">You joined as a listener: you hear the room but do not speak.</p>}
      {state.audioBlocked && (
        <button className="unblock" data-testid="enable-audio" onClick={() => client.setAudioBlocked(false)}>
          Click to hear the others (your browser blocked autoplay)
        </button>
      )}
      <div className="controls">
        <button
          data-testid="mute"
          aria-pressed={state.muted}
          disabled={
            !joined || !!state.micError || state.role === 'listener' || (state.forceMuted && !state.forceMuted.allowUnmute)
          }
          onClick={() => void client.setMuted(!state.muted)}
        >
          {state.muted ? 'Unmute' : 'Mute'}
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
        <LevelMeter level={state.muted ? 0 : state.level} label="Your microphone level" />
        <button data-testid="leave" onClick={() => void client.leave()}>
          Leave
        </button>
      </div>
      <ParticipantList
        self={{
          name: state.displayName ?? '',
          muted: state.muted,
          speaking: state.speaking,
          isDominant: state.dominantId !== undefined && state.dominantId === state.selfId,
        }}
        participants={state.participants}
        dominantId={state.dominantId}
        moderate={
          state.role === 'moderator'
            ? { forceMute: (id) => void client.forceMute(id), remove: (id) => void client.remove(id) }
            : undefined
        }
      />
      <ChatPanel messages={state.chat} error={state.chatError} selfId={state.selfId} onSend={(t) => client.sendChat(t)} />
      {state.participants.map((p) =>
        p.stream ? (
          <RemoteAudio
            key={p.id}
            participantId={p.id}
            stream={p.stream}
            blocked={state.audioBlocked}
            onBlocked={() => client.setAudioBlocked(true)}
          />
        ) : null,
      )}
    </section>
  );
}
