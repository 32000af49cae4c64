// Where the load goes: any Chorus by URL. Tokens come from the server's dev
// endpoint (POST /dev/token; rate-limited per address: a 429 is waited out, as
// its Retry-After says), or are signed here with --auth-secret.
import { randomUUID } from 'node:crypto';
import { TokenService } from '../../sfu/auth/tokens.ts';
import type { Role } from '../../protocol/messages.ts';
import type { JoinTarget } from '../../client/node/nodePeer.ts';

export function remoteTarget(url: string, authSecret?: string): JoinTarget {
  const base = url.replace(/\/$/, '');
  const signer = authSecret ? new TokenService(authSecret) : undefined;
  return {
    wsUrl: `${base.replace(/^http/, 'ws')}/ws`,
    async token(room: string, displayName: string, role: Role = 'speaker') {
      if (signer) return signer.sign({ identity: randomUUID(), room, displayName, role }, 3600);
      const ask = () =>
        fetch(`${base}/dev/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ room, name: displayName, role }),
        });
      let res = await ask();
      for (let tries = 0; res.status === 429 && tries < 20; tries++) {
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
        res = await ask();
      }
      if (!res.ok) throw new Error(`POST /dev/token: HTTP ${res.status} (dev tokens off? pass --auth-secret)`);
      return ((await res.json()) as { token: string }).token;
    },
  };
}
