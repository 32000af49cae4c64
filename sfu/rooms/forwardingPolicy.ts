// Who hears whom: selective forwarding of the active speakers.
//
// The one place the forwarding policy lives. Pure: no mediasoup, no timers;
// time and audio levels come in as arguments, decisions go out as data, so the
// policy is unit-tested on its own and the room only applies it.
//
// Policy (per room, K = how many voices each listener receives):
// - a producer is *speaking* while the audio level observer reports it at or
//   above the speaking threshold (so silence and Opus DTX never count);
// - it stays *held* for holdMs after it last spoke, so a breath or a short
//   pause does not hand its slot to someone else;
// - the room ranks eligible producers (not muted; speaking or held): speaking
//   before held; among equals, those already forwarded first (no flapping),
//   then louder, then more recent, then by id (deterministic ties);
// - each listener receives the first K of that ranking that are not their own;
// - K = 0 forwards every unmuted producer (classic all-to-all).

export interface ProducerInfo {
  producerId: string;
  muted: boolean;
}

export interface SpeakerActivity {
  /** Last reported level in dBov (-127 = silence, 0 = loudest). */
  level: number;
  /** When the producer was last at or above the threshold (ms), if ever. */
  lastLoudAt?: number;
  /** Whether the latest observer report had it at or above the threshold. */
  speaking: boolean;
}

/** Audio activity per producer, fed with the observer's reports. */
export class SpeakerActivityTracker {
  readonly #activity = new Map<string, SpeakerActivity>();

  /**
   * One observer report: the producers at or above the threshold, with their
   * levels. Every producer not in it is silent now.
   */
  report(loud: readonly { producerId: string; level: number }[], now: number): void {
    for (const a of this.#activity.values()) {
      a.speaking = false;
      a.level = -127;
    }
    for (const { producerId, level } of loud) {
      const a = this.#activity.get(producerId) ?? { level, speaking: true };
      a.level = level;
      a.speaking = true;
      a.lastLoudAt = now;
      this.#activity.set(producerId, a);
    }
  }

  get(producerId: string): SpeakerActivity | undefined {
    return this.#activity.get(producerId);
  }

  forget(producerId: string): void {
    this.#activity.delete(producerId);
  }
}

export interface RankInput {
  now: number;
  producers: readonly ProducerInfo[];
  activity: (producerId: string) => SpeakerActivity | undefined;
  holdMs: number;
  /** Producers forwarded after the previous decision (for stability). */
  previouslyForwarded: ReadonlySet<string>;
}

/** Eligible producers, best first (see the policy above). */
export function rankSpeakers({ now, producers, activity, holdMs, previouslyForwarded }: RankInput): string[] {
  const eligible = producers.flatMap(({ producerId, muted }) => {
    const a = activity(producerId);
    if (muted || !a || a.lastLoudAt === undefined) return [];
    const held = now - a.lastLoudAt <= holdMs;
    if (!a.speaking && !held) return [];
    return [{ producerId, a, forwarded: previouslyForwarded.has(producerId) }];
  });
  eligible.sort(
    (x, y) =>
      Number(y.a.speaking) - Number(x.a.speaking) ||
      Number(y.forwarded) - Number(x.forwarded) ||
      (x.a.speaking ? y.a.level - x.a.level : 0) ||
      y.a.lastLoudAt! - x.a.lastLoudAt! ||
      (x.producerId < y.producerId ? -1 : x.producerId > y.producerId ? 1 : 0),
  );
  return eligible.map((e) => e.producerId);
}

/**
 * The producers one listener receives: the first k of the ranking that are not
 * the listener's own; with k = 0, every unmuted producer but their own.
 */
export function selectForListener(
  ranking: readonly string[],
  producers: readonly ProducerInfo[],
  ownProducerId: string | undefined,
  k: number,
): Set<string> {
  if (k === 0) {
    return new Set(producers.filter((p) => !p.muted && p.producerId !== ownProducerId).map((p) => p.producerId));
  }
  return new Set(ranking.filter((id) => id !== ownProducerId).slice(0, k));
}

export interface ConsumerView {
  consumerId: string;
  producerId: string;
  /** Whether the consumer forwards now. */
  running: boolean;
  /** Whether the client has said its track is ready (consumerReady). */
  clientReady: boolean;
}

/** Which of a listener's consumers to resume and which to pause. */
export function planConsumers(
  consumers: readonly ConsumerView[],
  forwarded: ReadonlySet<string>,
): { resume: string[]; pause: string[] } {
  const resume: string[] = [];
  const pause: string[] = [];
  for (const c of consumers) {
    const want = c.clientReady && forwarded.has(c.producerId);
    if (want && !c.running) resume.push(c.consumerId);
    else if (!want && c.running) pause.push(c.consumerId);
  }
  return { resume, pause };
}
