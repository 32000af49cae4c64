import { randomUUID } from 'node:crypto';
import type { Role } from '../../sfu/protocol/messages.ts';
import type { ChorusServer } from '../../sfu/server.ts';

/** Where and how a test client joins: the WebSocket URL, and a token for a room. */
export interface JoinTarget {
  wsUrl: string;
  token(room: string, displayName: string, role?: Role, identity?: string): Promise<string>;
}

/** A JoinTarget for a running Chorus (tokens signed with its own secret). */
export function joinTarget(server: ChorusServer): JoinTarget {
  return {
    wsUrl: `${server.url.replace(/^http/, 'ws')}/ws`,
    token: (room, displayName, role = 'speaker', identity = randomUUID()) =>
      server.tokens.sign({ identity, room, displayName, role }, 3600),
  };
}
