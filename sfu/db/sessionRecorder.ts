// Records rooms and participant sessions in Postgres, off the media path.
//
// Room events only append to an in-memory queue (no await on the call path);
// one drain loop writes the queue in order. If the database is unreachable the
// head write is retried with backoff (up to 5 s apart) and the queue keeps
// growing, up to maxQueuedWrites, beyond which the oldest writes are dropped
// and logged. Every write is idempotent (insert … on conflict do nothing,
// update by id), so a retry after an ambiguous failure is harmless.
import type { Logger } from '../log.ts';
import type { QualitySummary } from '../metrics/quality.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { Db } from './database.ts';

interface Write {
  what: string;
  run(db: Db): Promise<unknown>;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/** A server-side SQL error other than a connection problem: retrying will not help. */
function isPermanent(err: unknown): boolean {
  const e = err as { severity?: string; code?: string };
  return typeof e.severity === 'string' && !!e.code && !/^(08|57P|53)/.test(e.code);
}

/** Where the recorder reports its writes (the metrics module). */
export interface RecorderMetrics {
  dbWrite(result: 'ok' | 'retry' | 'failed', seconds: number): void;
  dbDropped(): void;
}

export class SessionRecorder {
  readonly #queue: Write[] = [];
  #draining = false;
  #retryTimer?: NodeJS.Timeout;
  #backoffMs = MIN_BACKOFF_MS;
  #failing = false;
  #dropped = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(
    readonly db: Db,
    readonly maxQueuedWrites: number,
    readonly log: Logger,
    readonly metrics?: RecorderMetrics,
  ) {}

  /** Writes a participant session's call-quality summary (idempotent: the latest wins). */
  recordQuality(sessionId: string, q: QualitySummary): void {
    const at = new Date();
    this.#enqueue(`quality ${sessionId}`, (db) =>
      db
        .updateTable('participant_sessions')
        .set({
          bytes_sent: q.bytesSent,
          bytes_received: q.bytesReceived,
          loss_mean: q.lossMean,
          loss_worst: q.lossWorst,
          jitter_mean_ms: q.jitterMeanMs,
          jitter_worst_ms: q.jitterWorstMs,
          rtt_mean_ms: q.rttMeanMs,
          rtt_worst_ms: q.rttWorstMs,
          muted_seconds: q.mutedSeconds,
          speaking_seconds: q.speakingSeconds,
          quality_at: at,
        })
        .where('id', '=', sessionId)
        .execute(),
    );
  }

  /** Queued writes not yet in the database. */
  get queued(): number {
    return this.#queue.length;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** Records everything the registry reports. */
  attach(registry: RoomRegistry): void {
    registry.on('roomOpened', (room) =>
      this.#enqueue(`open room ${room.name}`, (db) =>
        db
          .insertInto('rooms')
          .values({ id: room.id, name: room.name, worker_pid: room.media.pid, created_at: room.createdAt })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute(),
      ),
    );
    registry.on('roomClosed', (room, reason) => {
      const at = new Date();
      this.#enqueue(`close room ${room.name}`, (db) =>
        db.updateTable('rooms').set({ closed_at: at, close_reason: reason }).where('id', '=', room.id).execute(),
      );
    });
    registry.on('participantJoined', (room, p) =>
      this.#enqueue(`join ${p.id}`, (db) =>
        db
          .insertInto('participant_sessions')
          .values({
            id: p.id,
            room_id: room.id,
            display_name: p.displayName,
            worker_pid: room.media.pid,
            joined_at: p.joinedAt,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .execute(),
      ),
    );
    registry.on('participantLeft', (_room, p, reason) => {
      const at = new Date();
      this.#enqueue(`leave ${p.id}`, (db) =>
        db
          .updateTable('participant_sessions')
          .set({ left_at: at, leave_reason: reason })
          .where('id', '=', p.id)
          .execute(),
      );
    });
  }

  #enqueue(what: string, run: Write['run']): void {
    this.#queue.push({ what, run });
    if (this.#queue.length > this.maxQueuedWrites) {
      const lost = this.#queue.shift()!;
      this.#dropped++;
      this.metrics?.dbDropped();
      this.log.error('database write queue full: dropped the oldest write', { write: lost.what, dropped: this.#dropped });
    }
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#draining || this.#retryTimer) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const write = this.#queue[0]!;
        const started = performance.now();
        const took = () => (performance.now() - started) / 1000;
        try {
          await write.run(this.db);
          this.metrics?.dbWrite('ok', took());
        } catch (err) {
          if (isPermanent(err)) {
            this.metrics?.dbWrite('failed', took());
            this.metrics?.dbDropped();
            this.log.error('database write failed; dropped', { write: write.what, error: err as Error });
          } else {
            this.metrics?.dbWrite('retry', took());
            this.#scheduleRetry(err);
            return;
          }
        }
        if (this.#queue[0] === write) this.#queue.shift();
        if (this.#failing) {
          this.log.info('database reachable again; writing the queued rows', { queued: this.#queue.length });
          this.#failing = false;
        }
        this.#backoffMs = MIN_BACKOFF_MS;
      }
    } finally {
      this.#draining = false;
    }
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  #scheduleRetry(err: unknown): void {
    if (!this.#failing) {
      this.log.warn('database unreachable; keeping writes queued and retrying', {
        error: err as Error,
        queued: this.#queue.length,
      });
      this.#failing = true;
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#drain();
    }, this.#backoffMs);
    this.#retryTimer.unref();
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
  }

  /** Resolves true once every queued write is in the database, false after timeoutMs. */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.#queue.length === 0 && !this.#draining) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      if (this.#retryTimer) {
        // Try now rather than at the end of the backoff.
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        void this.#drain();
      }
    });
  }

  /** Stops retrying. Queued writes that have not landed are reported. */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#queue.length) this.log.warn('stopping with unwritten database rows', { queued: this.#queue.length });
  }
}
