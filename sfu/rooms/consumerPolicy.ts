// Which consumers each listener holds: consumers on demand.
//
// Forwarding (forwardingPolicy.ts) decides which voices run; this decides
// which consumers exist at all. A consumer costs a worker request to make, a
// round trip to the client before it can run, and memory on both sides, so a
// listener does not hold one for every other microphone (n·(n−1) in a room),
// only for the voices it may hear soon. Pure, like the forwarding policy.
//
// Policy (per room; `cap` = consumers a listener may hold, at least K):
// - the room orders its producers by how soon they may be heard: the voices
//   (the forwarding ranking, best first), then the others by when they were
//   last loud (most recent first; never loud last), muted ones after all of
//   those, ties in join order;
// - a listener holds consumers for the first `cap` producers of that order
//   that are not its own. Its K forwarded voices are always among them (they
//   head the order); the rest are the recently active, the least recently heard
//   leaving first when someone new is heard (LRU). A consumer outside that set
//   is closed, a missing one is created, best first;
// - with K = 0 (everyone forwarded) a listener holds all others' consumers;
// - in a room of at most `cap + 1` producers every listener holds all the
//   others, as before consumers were made on demand: a first word from anyone
//   is forwarded from its first packet while a slot is free. In a bigger room
//   that holds for the recently active; someone never heard yet waits for the
//   level observer and then for the consumer to be made (see the README).
import type { ProducerInfo, SpeakerActivity } from './forwardingPolicy.ts';

/** The room's producers, soonest to be heard first (see the policy above). */
export function warmOrder(
  ranking: readonly string[],
  producers: readonly ProducerInfo[],
  activity: (producerId: string) => SpeakerActivity | undefined,
): string[] {
  const voices = new Set(ranking);
  const rest = producers
    .map((p, joinOrder) => ({ ...p, joinOrder, loudAt: activity(p.producerId)?.lastLoudAt ?? -Infinity }))
    .filter((p) => !voices.has(p.producerId));
  rest.sort(
    (a, b) => Number(a.muted) - Number(b.muted) || b.loudAt - a.loudAt || a.joinOrder - b.joinOrder,
  );
  const known = new Set(producers.map((p) => p.producerId));
  return [...ranking.filter((id) => known.has(id)), ...rest.map((p) => p.producerId)];
}

/** How many consumers a listener may hold with K forwarded voices (0 = no bound: everyone is forwarded). */
export function consumerCap(k: number, maxConsumersPerListener: number): number {
  return k === 0 ? Infinity : Math.max(k, maxConsumersPerListener);
}

/** The producers one listener should hold consumers for, best first. */
export function consumersFor(order: readonly string[], ownProducerId: string | undefined, cap: number): string[] {
  const wanted: string[] = [];
  for (const id of order) {
    if (wanted.length >= cap) break;
    if (id !== ownProducerId) wanted.push(id);
  }
  return wanted;
}

/**
 * What changes in the room's order matter to its listeners: the set of its
 * first `cap` producers (what a listener outside them holds) and the set of its
 * first `cap + 1` (what one of them holds: those but its own). While both stay
 * the same, so does every listener's set, whatever the order within them.
 */
export function warmSetKey(order: readonly string[], cap: number): string {
  const set = (n: number) => [...order.slice(0, n)].sort().join();
  return `${set(cap)}|${set(cap + 1)}`;
}

/** Which consumers to close and which producers to consume, given what a listener holds. */
export function planConsumerSet(
  held: readonly { consumerId: string; producerId: string }[],
  wanted: readonly string[],
): { close: string[]; create: string[] } {
  const want = new Set(wanted);
  const have = new Set(held.map((c) => c.producerId));
  return {
    close: held.filter((c) => !want.has(c.producerId)).map((c) => c.consumerId),
    create: wanted.filter((id) => !have.has(id)),
  };
}
