// Which streams each listener receives. The one place the forwarding policy
// lives, as a pure function, so it can change (top-K active speakers) without
// touching the room's I/O.

export interface Source {
  participantId: string;
  producerId: string;
}

/**
 * The producers that `listenerId` should receive from `sources`.
 * Current policy: everyone except yourself.
 */
export function selectForwarded(listenerId: string, sources: readonly Source[]): Set<string> {
  return new Set(sources.filter((s) => s.participantId !== listenerId).map((s) => s.producerId));
}
