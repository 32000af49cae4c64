import type { CallState, RoomClient } from '../roomClient.ts';

/** What the page has to tell about the call: reconnecting, the microphone, a moderator's mute, autoplay. */
export function CallNotices({ client, state }: { client: RoomClient; state: CallState }) {
  return (
    <>
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
      {state.micNotice && (
        <p role="alert" className="warning" data-testid="mic-notice">
          {state.micNotice}
        </p>
      )}
      {state.speakingWhileMuted && (
        <p role="status" className="hint" data-testid="muted-hint">
          You are muted. {state.settings.pushToTalk ? 'Hold Space to talk.' : 'Press M to unmute.'}
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
    </>
  );
}
