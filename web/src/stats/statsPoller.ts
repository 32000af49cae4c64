// Polls the call's transports once a second (getStats) for the stats panel and
// our own connection quality. Survives rejoins: it asks the call for its
// current transports each time.
import type { Call } from '../../../client/call.ts';
import { type QualityLevel, connectionQuality } from '../../../protocol/connectionQuality.ts';
import { type Counters, type StatsEntry, type TransportStats, digestTransport, ownLinkSample } from './digest.ts';

export interface StatsUpdate {
  transports: TransportStats[];
  /** Undefined until every transport has connected once. */
  quality?: QualityLevel;
}

export class StatsPoller {
  readonly #timer: ReturnType<typeof setInterval>;
  #counters = new Map<string, Counters>();
  #activity = 0;
  #heardAt = Date.now();
  #connectedOnce = false;
  #busy = false;

  constructor(
    readonly call: Call,
    readonly onUpdate: (update: StatsUpdate) => void,
    intervalMs = 1000,
  ) {
    this.#timer = setInterval(() => void this.#poll(), intervalMs);
  }

  async #poll(): Promise<void> {
    const transports = this.call.transports.filter((t) => !t.closed);
    if (this.#busy || transports.length === 0) return;
    this.#busy = true;
    try {
      const next = new Map<string, Counters>();
      const live = new Set([...this.call.consumers.values()].map((c) => c.consumer.track.id));
      const digests = await Promise.all(
        transports.map(async (t) => {
          const report = [...(await t.getStats()).values()] as StatsEntry[];
          const { stats, counters } = digestTransport(t.direction, t.connectionState, report, this.#counters.get(t.id) ?? new Map());
          next.set(t.id, counters);
          // Only the streams of consumers we still have (a closed one's stats may linger).
          return { ...stats, tracks: stats.tracks.filter((s) => s.direction === 'out' || live.has(s.trackId ?? '')) };
        }),
      );
      this.#counters = next;
      const now = Date.now();
      const activity = digests.reduce((sum, d) => sum + d.activity, 0);
      if (activity !== this.#activity) this.#heardAt = now;
      this.#activity = activity;
      if (digests.every((d) => d.state === 'connected')) this.#connectedOnce = true;
      const quality = this.#connectedOnce ? connectionQuality(ownLinkSample(digests, this.#heardAt, now)) : undefined;
      this.onUpdate({ transports: digests, quality });
    } catch {
      // A transport closed while we asked (a rejoin): the next round asks the new ones.
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
