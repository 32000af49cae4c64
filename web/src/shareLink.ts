// The room's shareable link (the Copy link button): the page's address with
// only the room, plus the invitation token when this page was opened with one
// (a server without dev tokens admits nobody without a token). The token names
// its holder: whoever opens such a link joins as them (see docs/tokens.md).
export function shareableLink(origin: string, pathname: string, room: string, invitationToken?: string): string {
  const url = new URL(pathname, origin);
  url.searchParams.set('room', room);
  if (invitationToken) url.searchParams.set('token', invitationToken);
  return url.toString();
}
