// Samples mediasoup statistics every intervalMs and turns them into metrics and
// per-participant call quality: worker CPU and memory, and the RTP statistics of
// every producer (audio from clients) and every running consumer (audio to
// clients; paused consumers carry nothing and are skipped). Also measures join
// latency: join request → first audio packet to or from the participant. Each
// round also gives every participant a connection quality level, which their
// room tells its participants when one changes (linkQuality.ts).
import fs from 'node:fs';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import type { WorkerPool } from '../media/workerPool.ts';
import type { Participant } from '../rooms/participant.ts';
import type { Room } from '../rooms/room.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import { type LinkRound, LinkQuality } from './linkQuality.ts';
import type { Metrics } from './metrics.ts';
import { QualityAccumulator, type QualitySummary } from './quality.ts';

interface Totals {
  packets: number;
  bytes: number;
  lost: number;
  nacks: number;
}

const OPUS_CLOCK = 48_000;
const PAGE_SIZE = 4096;

/** Resident memory of a process (Linux /proc), or null where unreadable. */
function residentBytes(pid: number): number | null {
  try {
    const pages = Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(pages) ? pages * PAGE_SIZE : null;
  } catch {
    return null;
  }
}

export class StatsSampler {
  readonly #totals = new Map<string, Totals>(); // by producer/consumer id
  readonly #quality = new WeakMap<Participant, QualityAccumulator>();
  readonly #links = new WeakMap<Participant, LinkQuality>();
  readonly #cpuMs = new Map<number, number>(); // by worker pid
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;

  constructor(
    readonly rooms: RoomRegistry,
    readonly pool: WorkerPool,
    readonly metrics: Metrics,
    readonly log: Logger,
  ) {
    rooms.on('participantJoined', (_room, p) => this.#watchJoin(p));
  }

  /** Samples now, then every intervalMs. */
  start(intervalMs: number): void {
    const round = () => {
      if (!this.#running) this.#running = this.sample().finally(() => (this.#running = undefined));
    };
    round();
    this.#timer = setInterval(round, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  /** The participant's call quality so far. */
  summaryOf(p: Participant): QualitySummary {
    return this.#qualityOf(p).summary(p.mutedSeconds(), p.speakingSeconds);
  }

  #qualityOf(p: Participant): QualityAccumulator {
    let q = this.#quality.get(p);
    if (!q) this.#quality.set(p, (q = new QualityAccumulator()));
    return q;
  }

  /** One round of sampling. */
  async sample(): Promise<void> {
    const started = performance.now();
    await Promise.all([
      ...this.pool.workers.map((w) => this.#sampleWorker(w.index, w.worker)),
      ...[...this.rooms.rooms.values()].map((room) => this.#sampleRoom(room)),
    ]);
    this.metrics.recordStatsSample((performance.now() - started) / 1000);
  }

  /** Samples the room's participants, then gives the room their connection quality levels. */
  async #sampleRoom(room: Room): Promise<void> {
    const participants = [...room.participants.values()];
    const rounds = await Promise.all(participants.map((p) => this.#sampleParticipant(room.workerOf(p).index, p)));
    const now = Date.now();
    const levels = participants.flatMap((p, i) => {
      const round = rounds[i];
      if (!round || p.closed) return [];
      let link = this.#links.get(p);
      if (!link) this.#links.set(p, (link = new LinkQuality(p.joinedAt.getTime())));
      return [{ participantId: p.id, level: link.observe(round, now) }];
    });
    room.publishConnectionQuality(levels);
  }

  async #sampleWorker(index: number, worker: types.Worker): Promise<void> {
    try {
      const usage = await worker.getResourceUsage();
      const cpuMs = usage.ru_utime + usage.ru_stime;
      const before = this.#cpuMs.get(worker.pid);
      this.#cpuMs.set(worker.pid, cpuMs);
      const memory = residentBytes(worker.pid) ?? usage.ru_maxrss * 1024;
      // The first sample adds everything the worker used since it started.
      this.metrics.recordWorkerUsage(index, (cpuMs - (before ?? 0)) / 1000, memory);
    } catch {
      // The worker died meanwhile; the pool reports that.
    }
  }

  /** New packets/bytes/losses/NACKs of one stream since its previous sample. */
  #delta(id: string, now: Totals): Totals {
    const before = this.#totals.get(id) ?? { packets: 0, bytes: 0, lost: 0, nacks: 0 };
    this.#totals.set(id, now);
    return {
      packets: Math.max(0, now.packets - before.packets),
      bytes: Math.max(0, now.bytes - before.bytes),
      lost: Math.max(0, now.lost - before.lost),
      nacks: Math.max(0, now.nacks - before.nacks),
    };
  }

  #forgetOnClose(id: string, closer: { observer: { once(e: 'close', f: () => void): unknown } }): void {
    if (!this.#totals.has(id)) closer.observer.once('close', () => this.#totals.delete(id));
  }

  /** One participant's streams into the metrics and their quality; what their link looked like (undefined if unreadable). */
  async #sampleParticipant(worker: number, p: Participant): Promise<LinkRound | undefined> {
    const quality = this.#qualityOf(p);
    const link: LinkRound = { bytesReceived: 0, lossRatios: [], rttMs: [] };
    try {
      for (const t of p.transports.values()) for (const s of await t.getStats()) link.bytesReceived += s.bytesReceived;
      const producer = p.producer;
      if (producer && !producer.closed) {
        for (const s of await producer.getStats()) {
          this.#forgetOnClose(producer.id, producer);
          const d = this.#delta(producer.id, { packets: s.packetCount, bytes: s.byteCount, lost: s.packetsLost, nacks: s.nackCount });
          const lossRatio = s.fractionLost / 256;
          const jitterSeconds = s.jitter / OPUS_CLOCK;
          this.metrics.recordStream({ worker, direction: 'in', ...d, packetsLost: d.lost, lossRatio, score: s.score, jitterSeconds });
          if (d.packets > 0) quality.addUplink({ bytes: d.bytes, lossRatio, jitterMs: jitterSeconds * 1000 });
          // A stream that carried nothing this round has only stale reports.
          if (d.packets > 0) link.lossRatios.push(lossRatio);
          if (d.packets > 0) link.jitterMs = jitterSeconds * 1000;
        }
      }
      for (const consumer of p.consumers.values()) {
        if (consumer.paused || consumer.producerPaused || consumer.closed) continue;
        const outbound = (await consumer.getStats()).find((s) => s.type === 'outbound-rtp');
        if (!outbound) continue;
        this.#forgetOnClose(consumer.id, consumer);
        const d = this.#delta(consumer.id, {
          packets: outbound.packetCount,
          bytes: outbound.byteCount,
          lost: outbound.packetsLost,
          nacks: outbound.nackCount,
        });
        const lossRatio = outbound.fractionLost / 256;
        const rttSeconds = outbound.roundTripTime ? outbound.roundTripTime / 1000 : undefined;
        this.metrics.recordStream({ worker, direction: 'out', ...d, packetsLost: d.lost, lossRatio, score: outbound.score, rttSeconds });
        if (d.packets > 0) quality.addDownlink({ bytes: d.bytes, lossRatio, rttMs: outbound.roundTripTime || undefined });
        if (outbound.roundTripTime) link.rttMs.push(outbound.roundTripTime);
      }
      return link;
    } catch (err) {
      // Objects close between listing and asking; the next round is fine.
      this.log.debug('stats sample failed', { participant: p.id, error: err as Error });
      return undefined;
    }
  }

  /**
   * Join latency: from the join request to the first RTP packet the participant
   * sends (producer) or receives (consumer), via mediasoup's 'rtp' trace events,
   * switched off again after that first packet.
   */
  #watchJoin(p: Participant): void {
    const traced: (types.Producer | types.Consumer)[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.metrics.recordJoinDuration((Date.now() - p.requestedAt) / 1000);
      for (const t of traced) if (!t.closed) void t.enableTraceEvent([]).catch(() => {});
      p.off('producer', watch);
      p.off('consumer', watch);
    };
    const watch = (obj: types.Producer | types.Consumer) => {
      if (done) return;
      traced.push(obj);
      (obj as types.Producer).once('trace', finish);
      void obj.enableTraceEvent(['rtp']).catch(() => {});
    };
    p.on('producer', watch);
    p.on('consumer', watch);
    p.once('close', () => {
      done = true;
      p.off('producer', watch);
      p.off('consumer', watch);
    });
  }
}
