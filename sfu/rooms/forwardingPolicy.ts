// Who hears whom: selective forwarding of the active speakers.
//
// The one place the forwarding policy lives. Pure: no mediasoup, no timers;
// time and audio levels come in as arguments, decisions go out as data, so the
// policy is unit-tested on its own and the room only applies it.
//
// Policy (per room, K = how many voices each listener receives):
// - the level observer reports every producer that sent audio frames in the
//   last interval (at least 10: Opus DTX sends one per 400 ms, so a silent
//   microphone is never in the report) with its average level;
// - a producer is *speaking* while that level is at or above the speaking
//   threshold; it stays *held* for holdMs after it last spoke, so a breath or
//   a short pause does not hand its slot to someone else. Speaking or held is
//   a *voice*;
// - the room ranks the voices (not muted): speaking before held; among equals,
//   those already forwarded first (no flapping), then louder, then more
//   recent, then by id (deterministic ties);
// - each listener receives the first K voices of that ranking that are not
//   their own; while that leaves a slot free, also every *idle* producer: not
//   a voice and sending no audio (DTX, or nothing yet, like a new joiner).
//   Idle costs nothing to forward (consumers skip DTX), and the first loud
//   frame of someone who starts talking goes straight through, with no wait
//   for the level observer. Producers sending audio below the threshold, and
//   voices beyond the K first, stay paused;
// - so a listener receives more than K voices only while several idle
//   producers start within one observer interval; at the next report the
//   ranking keeps the K first. With every slot taken, idle producers are
//   paused and someone who starts waits for the observer, as before;
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
  /** Whether the latest observer report had it at all: it sends audio frames (not DTX, not nothing). */
  sending: boolean;
  /** The sender's own voice detection said "I start talking" at this time (ms), not yet confirmed by a report. */
  hintedAt?: number;
  /** lastLoudAt before the hint: what it goes back to if the hint is refuted (a refuted hint earns no hold). */
  loudBeforeHint?: number;
}

/** How long a sender's hint counts as speaking without the level observer confirming it. */
export interface HintRules {
  /** A hint stands until a report at least this old confirms or refutes it (about two observer intervals). */
  confirmWithinMs: number;
  /** After a hint the observer did not confirm, further hints are ignored this long (a client cannot hold a slot by claiming). */
  cooldownMs: number;
}

/** Audio activity per producer, fed with the observer's reports. */
export class SpeakerActivityTracker {
  readonly #activity = new Map<string, SpeakerActivity>();

  /** Producers whose last hint went unconfirmed, and until when their hints are ignored. */
  readonly #cooldownUntil = new Map<string, number>();

  /** @param thresholdDbov level (dBov) at or above which a producer counts as speaking. */
  constructor(
    readonly thresholdDbov: number,
    readonly hints: HintRules = { confirmWithinMs: 600, cooldownMs: 5_000 },
  ) {}

  /**
   * One observer report: every producer that sent audio frames in the
   * interval, with its average level. Every producer not in it is silent now,
   * unless its sender said it starts talking too recently for a report to
   * have counted it (mediasoup needs 10 frames in one interval).
   */
  report(sending: readonly { producerId: string; level: number }[], now: number): void {
    for (const a of this.#activity.values()) {
      a.speaking = false;
      a.sending = false;
      a.level = -127;
    }
    for (const { producerId, level } of sending) {
      const a = this.#activity.get(producerId) ?? { level, speaking: false, sending: true };
      a.level = level;
      a.sending = true;
      a.speaking = level >= this.thresholdDbov;
      if (a.speaking) a.lastLoudAt = now;
      this.#activity.set(producerId, a);
    }
    for (const [producerId, a] of this.#activity) {
      if (a.hintedAt === undefined) continue;
      if (a.speaking) a.hintedAt = a.loudBeforeHint = undefined; // confirmed
      else if (now - a.hintedAt < this.hints.confirmWithinMs) {
        a.speaking = true; // not confirmable yet: the hint stands
        a.lastLoudAt = now;
      } else {
        // Refuted: the sender is not heard talking. It keeps no hold from the hint.
        a.lastLoudAt = a.loudBeforeHint;
        a.hintedAt = a.loudBeforeHint = undefined;
        this.#cooldownUntil.set(producerId, now + this.hints.cooldownMs);
      }
    }
  }

  /**
   * The sender's own voice detection says it starts talking: it counts as
   * speaking now, until a report confirms it or `confirmWithinMs` passes
   * without one (then its hints are ignored for `cooldownMs`). Returns whether
   * the hint was taken.
   */
  hint(producerId: string, now: number): boolean {
    if ((this.#cooldownUntil.get(producerId) ?? 0) > now) return false;
    const a = this.#activity.get(producerId) ?? { level: -127, speaking: false, sending: false };
    if (a.speaking && a.hintedAt === undefined) return false; // already speaking: nothing to gain
    if (a.hintedAt === undefined) {
      a.hintedAt = now;
      a.loudBeforeHint = a.lastLoudAt;
    }
    a.speaking = true;
    a.lastLoudAt = now;
    this.#activity.set(producerId, a);
    return true;
  }

  get(producerId: string): SpeakerActivity | undefined {
    return this.#activity.get(producerId);
  }

  forget(producerId: string): void {
    this.#activity.delete(producerId);
    this.#cooldownUntil.delete(producerId);
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
 * Idle producers: unmuted, not a voice (not in the ranking), sending no audio
 * (DTX or nothing, or never reported at all), in the order given.
 */
export function idleProducers(
  producers: readonly ProducerInfo[],
  activity: (producerId: string) => SpeakerActivity | undefined,
  ranking: readonly string[],
): string[] {
  const voices = new Set(ranking);
  return producers
    .filter(({ producerId, muted }) => !muted && !voices.has(producerId) && !activity(producerId)?.sending)
    .map((p) => p.producerId);
}

/** A room's forwarding decision, shared by its listeners. */
export interface ForwardingState {
  /** The voices, best first (rankSpeakers). */
  ranking: readonly string[];
  /** Producers forwarded to a listener who has a free slot (idleProducers). */
  idle: readonly string[];
}

/** Ranks the voices and finds the idle producers (see the policy above). */
export function decideForwarding(input: RankInput): ForwardingState {
  const ranking = rankSpeakers(input);
  return { ranking, idle: idleProducers(input.producers, input.activity, ranking) };
}

/**
 * The producers one listener receives: the first k voices of the ranking that
 * are not the listener's own and, while that is fewer than k, every idle
 * producer but their own; with k = 0, every unmuted producer but their own.
 */
export function selectForListener(
  { ranking, idle }: ForwardingState,
  producers: readonly ProducerInfo[],
  ownProducerId: string | undefined,
  k: number,
): Set<string> {
  if (k === 0) {
    return new Set(producers.filter((p) => !p.muted && p.producerId !== ownProducerId).map((p) => p.producerId));
  }
  const selected = new Set(ranking.filter((id) => id !== ownProducerId).slice(0, k));
  if (selected.size < k) for (const id of idle) if (id !== ownProducerId) selected.add(id);
  return selected;
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
