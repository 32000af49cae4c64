import { useEffect, useState, useSyncExternalStore } from 'react';
import { CallView } from './components/CallView.tsx';
import { JoinForm } from './components/JoinForm.tsx';
import { RoomClient } from './roomClient.ts';

/** `/?room=NAME&name=NAME` joins directly, so a link can be shared. */
function linkParams(): { room: string; name: string } {
  const q = new URLSearchParams(location.search);
  return { room: q.get('room') ?? '', name: q.get('name') ?? '' };
}

export function App() {
  const [client] = useState(() => new RoomClient());
  const state = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const [link] = useState(linkParams);

  useEffect(() => {
    if (link.room && link.name) void client.join(link.room, link.name);
    const leaveOnUnload = () => void client.leave();
    window.addEventListener('pagehide', leaveOnUnload);
    return () => window.removeEventListener('pagehide', leaveOnUnload);
  }, [client, link]);

  const join = (room: string, name: string, micId?: string) => {
    const url = new URL(location.href);
    url.searchParams.set('room', room);
    url.searchParams.set('name', name);
    history.replaceState(null, '', url);
    void client.join(room, name, micId);
  };

  return (
    <main>
      <h1>Chorus</h1>
      {state.error && (
        <p role="alert" className="error" data-testid="error">
          {state.error}
        </p>
      )}
      {state.phase === 'joined' || state.phase === 'connecting' ? (
        <CallView client={client} state={state} />
      ) : (
        <JoinForm
          initialRoom={state.room ?? link.room}
          initialName={state.displayName ?? link.name}
          mics={state.mics}
          onRefreshMics={() => void client.refreshMics()}
          onJoin={join}
        />
      )}
    </main>
  );
}
