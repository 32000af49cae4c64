import type { ErrorCode, Role } from '../../protocol/messages.ts';
import { SignalingError } from '../../client/signaling.ts';

/** Dev mode: the server hands out tokens (POST /dev/token). */
export async function fetchDevToken(room: string, name: string, role?: Role): Promise<string> {
  let res: Response;
  try {
    res = await fetch('/dev/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room, name, ...(role ? { role } : {}) }),
    });
  } catch {
    throw new SignalingError('UNREACHABLE', 'cannot reach the Chorus server');
  }
  if (res.status === 404) {
    throw new SignalingError('TOKEN_INVALID', 'this server admits only invitation links (a link with a token)');
  }
  const body = (await res.json().catch(() => ({}))) as { token?: string; error?: { code: ErrorCode; message: string } };
  if (!res.ok || !body.token) {
    throw new SignalingError(body.error?.code ?? 'BAD_RESPONSE', body.error?.message ?? `HTTP ${res.status}`);
  }
  return body.token;
}
