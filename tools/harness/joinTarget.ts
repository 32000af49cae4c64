// Where a Node client joins a Chorus running in this process (tests, benchmarks).
import { randomUUID } from 'node:crypto';
import type { JoinTarget } from '../../client/node/nodePeer.ts';
import type { ChorusServer } from '../../sfu/server.ts';

export type { JoinTarget };

/** A JoinTarget for a running Chorus (tokens signed with its own secret). */
export function joinTarget(server: ChorusServer): JoinTarget {
  return {
    wsUrl: `${server.url.replace(/^http/, 'ws')}/ws`,
    token: (room, displayName, role = 'speaker', identity = randomUUID()) =>
      server.tokens.sign({ identity, room, displayName, role }, 3600),
  };
}
