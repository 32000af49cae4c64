// Whether Node clients hear each other (the audio packets each receives from
// each speaker), for tests of calls whose people sit on several nodes.
import type { NodePeer } from '../../client/node/nodePeer.ts';
import { until } from './wait.ts';

/** `listener` keeps receiving `speaker` (20 more packets from now). */
export async function hears(listener: NodePeer, speaker: NodePeer, what: string): Promise<void> {
  const from = listener.packetsFrom(speaker.participantId);
  await until(() => listener.packetsFrom(speaker.participantId) > from + 20, what, 30_000);
}

/** Everyone hears everyone else (by the names given). */
export async function allHear(who: Record<string, NodePeer>): Promise<void> {
  for (const [ln, l] of Object.entries(who)) for (const [sn, s] of Object.entries(who)) if (l !== s) await hears(l, s, `${ln} to hear ${sn}`);
}
