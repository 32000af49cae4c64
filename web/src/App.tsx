import { useEffect, useState, useSyncExternalStore } from 'react';
import { CallView } from './components/CallView.tsx';
import { JoinForm } from './components/JoinForm.tsx';
import { roles } from '../../protocol/messages.ts';
import { RoomClient } from './roomClient.ts';

/**
 * A link joins directly: `/?room=NAME&token=JWT` (an invitation from your app),
 * or on a dev-mode server `/?room=NAME&name=NAME[&role=moderator]`.
 */
function linkParams() {
  const q = new URLSearchParams(location.search);
  const role = roles.find((r) => r === q.get('role'));
  return {
    room: q.get('room') ?? '',
    name: q.get('name') ?? '',
    token: q.get('token') ?? undefined,
    role,
  };
}

export function App() {
  const [client] = useState(() => new RoomClient());
  const state = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const [link] = useState(linkParams);

  useEffect(() => {
    if (link.room && (link.name || link.token)) {
      void client.join({ room: link.room, displayName: link.name, token: link.token, role: link.role });
    }
    const leaveOnUnload = () => void client.leave();
    window.addEventListener('pagehide', leaveOnUnload);
    return () => window.removeEventListener('pagehide', leaveOnUnload);
  }, [client, link]);

  const join = (room: string, name: string, micId?: string) => {
    const url = new URL(location.href);
    url.searchParams.set('room', room);
    url.searchParams.set('name', name);
    history.replaceState(null, '', url);
    void client.join({ room, displayName: name, role: link.role, micId });
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
