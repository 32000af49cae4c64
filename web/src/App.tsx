import { useEffect, useState, useSyncExternalStore } from 'react';
import { CallView } from './components/CallView.tsx';
import { JoinForm } from './components/JoinForm.tsx';
import { RoomClient } from './roomClient.ts';
import { shareableLink } from './shareLink.ts';

const INVITATION_KEY = 'chorus.invitation';

/** An invitation link's room and join token, kept for this tab (reload, Rejoin) but not in the address bar. */
interface Invitation {
  room: string;
  token: string;
}

function storedInvitation(): Invitation | undefined {
  try {
    const v = JSON.parse(sessionStorage.getItem(INVITATION_KEY) ?? 'null') as Invitation | null;
    return v && typeof v.room === 'string' && typeof v.token === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A link joins directly: `/?room=NAME&token=JWT` (an invitation from your app),
 * or on a dev-mode server `/?room=NAME&name=NAME[&role=listener]` (nobody picks
 * moderator: a dev-mode server makes the first person in an empty room one).
 *
 * The token leaves the address bar at once (history.replaceState: not in the
 * history, a bookmark, a screenshot or a shared screen); it is kept in this
 * tab's sessionStorage, so a reload and "Rejoin" still work.
 */
function linkParams() {
  const q = new URLSearchParams(location.search);
  const room = q.get('room') ?? '';
  const fromUrl = q.get('token');
  if (fromUrl) {
    try {
      sessionStorage.setItem(INVITATION_KEY, JSON.stringify({ room, token: fromUrl } satisfies Invitation));
    } catch {
      // Storage refused (private mode quotas): the token still lives in memory for this page.
    }
    const url = new URL(location.href);
    url.searchParams.delete('token');
    history.replaceState(null, '', url);
  }
  const stored = storedInvitation();
  const invitation: Invitation | undefined = fromUrl ? { room, token: fromUrl } : stored?.room === room ? stored : undefined;
  const role = (['speaker', 'listener'] as const).find((r) => r === q.get('role'));
  return { room, name: q.get('name') ?? '', invitation, role };
}

/** The Copy link button's link: the room, with this tab's invitation token for it if it has one. */
function shareOf(room: string, token: string | undefined) {
  return { link: shareableLink(location.origin, location.pathname, room, token), personal: token !== undefined };
}

export function App() {
  const [client] = useState(() => new RoomClient());
  const state = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const [link] = useState(linkParams);

  useEffect(() => {
    if (link.room && (link.name || link.invitation)) {
      void client.join({ room: link.room, displayName: link.name, token: link.invitation?.token, role: link.role });
    }
    const leaveOnUnload = () => void client.leave();
    window.addEventListener('pagehide', leaveOnUnload);
    return () => window.removeEventListener('pagehide', leaveOnUnload);
  }, [client, link]);

  const inCall = state.phase === 'joined' || state.phase === 'connecting';
  useEffect(() => {
    document.title = inCall && state.room ? `${state.room} · Chorus` : 'Chorus';
  }, [inCall, state.room]);

  // The form's Join (and Rejoin): an invitation for that room is used again.
  const invitationFor = (room: string) => (link.invitation?.room === room ? link.invitation : undefined);
  const join = (room: string, name: string, micId?: string) => {
    const url = new URL(location.href);
    url.searchParams.set('room', room);
    if (name) url.searchParams.set('name', name);
    history.replaceState(null, '', url);
    void client.join({ room, displayName: name, token: invitationFor(room)?.token, role: link.role, micId });
  };

  return (
    <main>
      <h1>Chorus</h1>
      {state.error && (
        <p role="alert" className="error" data-testid="error">
          {state.error}
        </p>
      )}
      {inCall ? (
        <CallView client={client} state={state} share={shareOf(state.room ?? '', invitationFor(state.room ?? '')?.token)} />
      ) : (
        <JoinForm
          initialRoom={state.room ?? link.room}
          initialName={state.displayName ?? link.name}
          mics={state.mics}
          invitedTo={link.invitation?.room}
          onRefreshMics={() => void client.refreshMics()}
          onJoin={join}
        />
      )}
    </main>
  );
}
