// Records rooms and participant sessions in Postgres, off the media path.
//
// Room events only append to an in-memory queue (no await on the call path);
// one drain loop writes the queue in order. If the database is unreachable the
// head write is retried with backoff (up to 5 s apart) and the queue keeps
// growing. Every write is idempotent (insert … on conflict do nothing, update by
// id), so a retry after an ambiguous failure is harmless. A room that moves off
// a dead worker ends no session: its move is one write (a room_moves row, and
// the room's and its sessions' worker_pid), in order with the others.
//
// The queue is bounded by its estimated size in memory (maxQueueBytes; each
// write is charged a fixed overhead plus its strings) and by maxQueuedWrites.
// A newer quality summary replaces an older one of the same session still
// queued, in place. When full, the recorder drops, oldest first: quality
// updates; then whole participant sessions (their join and leave together);
// then rooms with no participant write left in the queue. So a room's insert is
// never dropped while a write of its participants waits, nor a session's insert
// while its leave waits. Each drop is logged and counted (dbDropped).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { QualitySummary } from '../metrics/quality.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { Db } from './database.ts';

interface Write {
  kind: 'open room' | 'move room' | 'close room' | 'join' | 'leave' | 'quality';
  what: string;
  /** The room this write belongs to, and the participant session if any. */
  roomId: string;
  sessionId?: string;
  /** A quality update: its summary may be replaced by a newer one while queued. */
  quality?: { summary: QualitySummary; at: Date };
  /** Estimated bytes held in memory while queued. */
  bytes: number;
  run(db: Db): Promise<unknown>;
}

/** Queue limits: the estimated memory of queued writes, and their number. */
export interface QueueLimits {
  maxQueueBytes: number;
  maxQueuedWrites: number;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/**
 * Estimated memory of one queued write besides its strings: the write object,
 * its closure and captured values, a Date or two, the array slot; a quality
 * update adds its summary (10 numbers). Rough on purpose: it bounds the queue
 * in bytes within a small factor, which a count of writes does not.
 */
const WRITE_OVERHEAD_BYTES = 320;
const QUALITY_EXTRA_BYTES = 240;
/** UTF-16 in V8 at worst. */
const strBytes = (...parts: string[]) => parts.reduce((n, p) => n + 2 * p.length, 0);

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
  #queue: Write[] = [];
  #queuedBytes = 0;
  /** The queued quality update of each session (merged into while queued). */
  readonly #qualityBySession = new Map<string, Write>();
  /** The write the drain loop is running now: never merged into or dropped. */
  #inFlight?: Write;
  /**
   * Rooms whose insert was dropped while they were open, and sessions whose
   * insert was dropped before they left: their later writes are dropped too
   * (a join would break the room foreign key). Cleared on close and leave.
   */
  readonly #droppedRooms = new Set<string>();
  readonly #droppedSessions = new Set<string>();
  #draining = false;
  #retryTimer?: NodeJS.Timeout;
  #backoffMs = MIN_BACKOFF_MS;
  #failing = false;
  #dropped = 0;
  #idleWaiters: (() => void)[] = [];
  readonly limits: QueueLimits;

  constructor(
    readonly db: Db,
    limits: QueueLimits | number,
    readonly log: Logger,
    readonly metrics?: RecorderMetrics,
    /** Cluster mode: this node's id, written on every room and session row. */
    readonly nodeId: string | null = null,
  ) {
    // A bare number is the older maxQueuedWrites-only form, with the default byte budget.
    this.limits = typeof limits === 'number' ? { maxQueuedWrites: limits, maxQueueBytes: 8 * 1024 * 1024 } : limits;
  }

  /** Writes a participant session's call-quality summary (idempotent: the latest wins). */
  recordQuality(sessionId: string, q: QualitySummary): void {
    const at = new Date();
    const queued = this.#qualityBySession.get(sessionId);
    if (queued && queued !== this.#inFlight) {
      queued.quality = { summary: q, at };
      return;
    }
    const write: Write = {
      kind: 'quality',
      what: `quality ${sessionId}`,
      roomId: '',
      sessionId,
      quality: { summary: q, at },
      bytes: WRITE_OVERHEAD_BYTES + QUALITY_EXTRA_BYTES + strBytes(sessionId),
      run: (db) => {
        const { summary, at } = write.quality!;
        return db
          .updateTable('participant_sessions')
          .set({
            bytes_sent: summary.bytesSent,
            bytes_received: summary.bytesReceived,
            loss_mean: summary.lossMean,
            loss_worst: summary.lossWorst,
            jitter_mean_ms: summary.jitterMeanMs,
            jitter_worst_ms: summary.jitterWorstMs,
            rtt_mean_ms: summary.rttMeanMs,
            rtt_worst_ms: summary.rttWorstMs,
            muted_seconds: summary.mutedSeconds,
            speaking_seconds: summary.speakingSeconds,
            quality_at: at,
          })
          .where('id', '=', sessionId)
          .execute();
      },
    };
    if (this.#enqueue(write)) this.#qualityBySession.set(sessionId, write);
  }

  /** Queued writes not yet in the database. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Estimated memory held by the queued writes. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** Records everything the registry reports. */
  attach(registry: RoomRegistry): void {
    registry.on('roomOpened', (room) => {
      const workerPid = room.media.pid; // now: the room may move before this is written
      this.#enqueue({
        kind: 'open room',
        what: `open room ${room.name}`,
        roomId: room.id,
        bytes: WRITE_OVERHEAD_BYTES + strBytes(room.id, room.name),
        run: (db) =>
          db
            .insertInto('rooms')
            .values({ id: room.id, name: room.name, worker_pid: workerPid, created_at: room.createdAt, node_id: this.nodeId })
            .onConflict((oc) => oc.column('id').doNothing())
            .execute(),
      });
    });
    registry.on('roomMoved', (room, move) => {
      const id = randomUUID();
      const sessions = move.participants.map((p) => p.id);
      const [from, to] = [move.from.pid, move.to.pid];
      this.#enqueue({
        kind: 'move room',
        what: `move room ${room.name}`,
        roomId: room.id,
        bytes: WRITE_OVERHEAD_BYTES + strBytes(room.id, room.name, id, ...sessions),
        run: (db) =>
          db.transaction().execute(async (tx) => {
            await tx
              .insertInto('room_moves')
              .values({ id, room_id: room.id, from_worker_pid: from, to_worker_pid: to, moved_at: move.at, participants: sessions.length })
              .onConflict((oc) => oc.column('id').doNothing())
              .execute();
            // Participants moved off a worker the room only spanned: the room stays where it was.
            if (move.primary) await tx.updateTable('rooms').set({ worker_pid: to }).where('id', '=', room.id).execute();
            if (sessions.length) {
              await tx.updateTable('participant_sessions').set({ worker_pid: to }).where('id', 'in', sessions).execute();
            }
          }),
      });
    });
    registry.on('roomClosed', (room, reason) => {
      const at = new Date();
      this.#enqueue({
        kind: 'close room',
        what: `close room ${room.name}`,
        roomId: room.id,
        bytes: WRITE_OVERHEAD_BYTES + strBytes(room.id, room.name, reason),
        run: (db) =>
          db.updateTable('rooms').set({ closed_at: at, close_reason: reason }).where('id', '=', room.id).execute(),
      });
    });
    registry.on('participantJoined', (room, p) => {
      const workerPid = room.workerOf(p).pid; // the worker its media lives on, when the room spans several
      this.#enqueue({
        kind: 'join',
        what: `join ${p.id}`,
        roomId: room.id,
        sessionId: p.id,
        bytes: WRITE_OVERHEAD_BYTES + strBytes(room.id, p.id, p.displayName),
        run: (db) =>
          db
            .insertInto('participant_sessions')
            .values({
              id: p.id,
              room_id: room.id,
              display_name: p.displayName,
              worker_pid: workerPid,
              joined_at: p.joinedAt,
              node_id: this.nodeId,
            })
            .onConflict((oc) => oc.column('id').doNothing())
            .execute(),
      });
    });
    registry.on('participantLeft', (room, p, reason) => {
      const at = new Date();
      this.#enqueue({
        kind: 'leave',
        what: `leave ${p.id}`,
        roomId: room.id,
        sessionId: p.id,
        bytes: WRITE_OVERHEAD_BYTES + strBytes(p.id, reason),
        run: (db) =>
          db
            .updateTable('participant_sessions')
            .set({ left_at: at, leave_reason: reason })
            .where('id', '=', p.id)
            .execute(),
      });
    });
  }

  /** Queues a write (false: dropped at once, its room or session insert having been dropped). */
  #enqueue(write: Write): boolean {
    // The room's (or the session's) insert was dropped: what depends on it would fail or do nothing.
    if (this.#droppedRooms.has(write.roomId) || (write.sessionId && this.#droppedSessions.has(write.sessionId))) {
      this.#countDropped(1);
      this.log.debug('dropped a write whose room or session insert was dropped', { write: write.what });
      if (write.kind === 'close room') this.#droppedRooms.delete(write.roomId);
      if (write.kind === 'leave') this.#droppedSessions.delete(write.sessionId!);
      return false;
    }
    this.#queue.push(write);
    this.#queuedBytes += write.bytes;
    this.#makeRoom();
    void this.#drain();
    return true;
  }

  #over(bytes: number, count: number): boolean {
    return bytes > this.limits.maxQueueBytes || count > this.limits.maxQueuedWrites;
  }

  /** Drops writes while over the limits: quality updates, then sessions, then rooms, oldest first. */
  #makeRoom(): void {
    if (!this.#over(this.#queuedBytes, this.#queue.length)) return;
    const droppable = (w: Write) => w !== this.#inFlight;
    // 1. Quality updates (summaries: the session row stands without them), oldest first.
    const quality = new Set<Write>();
    let bytes = this.#queuedBytes;
    for (const w of this.#queue) {
      if (!this.#over(bytes, this.#queue.length - quality.size)) break;
      if (w.quality && droppable(w)) {
        quality.add(w);
        bytes -= w.bytes;
      }
    }
    if (quality.size) this.#reportDrop('quality updates', this.#remove((w) => quality.has(w)), {});
    // 2. The oldest participant sessions, whole (join, leave): nothing queued depends on them.
    while (this.#over(this.#queuedBytes, this.#queue.length)) {
      const oldest = this.#queue.find((w) => w.sessionId !== undefined && droppable(w));
      if (!oldest) break;
      const id = oldest.sessionId!;
      const hadJoin = this.#queue.some((w) => w.sessionId === id && w.kind === 'join' && droppable(w));
      const left = this.#queue.some((w) => w.sessionId === id && w.kind === 'leave');
      if (hadJoin && !left) this.#droppedSessions.add(id);
      this.#reportDrop('the oldest participant session', this.#remove((w) => w.sessionId === id && droppable(w)), {
        session: id,
      });
    }
    // 3. The oldest rooms: none of their participants' writes is queued any more (open, close).
    while (this.#over(this.#queuedBytes, this.#queue.length)) {
      const oldest = this.#queue.find((w) => w.sessionId === undefined && droppable(w));
      if (!oldest) break;
      const id = oldest.roomId;
      const hadOpen = this.#queue.some((w) => w.roomId === id && w.kind === 'open room' && droppable(w));
      const closed = this.#queue.some((w) => w.roomId === id && w.kind === 'close room');
      if (hadOpen && !closed) this.#droppedRooms.add(id);
      this.#reportDrop('the oldest room', this.#remove((w) => w.roomId === id && droppable(w)), { write: oldest.what });
    }
  }

  /** Removes the queued writes that match; returns how many. */
  #remove(match: (w: Write) => boolean): number {
    const kept: Write[] = [];
    let n = 0;
    for (const w of this.#queue) {
      if (match(w)) {
        n++;
        this.#forget(w);
      } else {
        kept.push(w);
      }
    }
    this.#queue = kept;
    return n;
  }

  #forget(w: Write): void {
    this.#queuedBytes -= w.bytes;
    if (w.quality && this.#qualityBySession.get(w.sessionId!) === w) this.#qualityBySession.delete(w.sessionId!);
  }

  #countDropped(n: number): void {
    this.#dropped += n;
    for (let i = 0; i < n; i++) this.metrics?.dbDropped();
  }

  #reportDrop(what: string, n: number, fields: Record<string, unknown>): void {
    this.#countDropped(n);
    this.log.error(`database write queue full: dropped ${what}`, {
      ...fields,
      writes: n,
      dropped: this.#dropped,
      queued: this.#queue.length,
      queuedBytes: this.#queuedBytes,
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining || this.#retryTimer) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const write = this.#queue[0]!;
        this.#inFlight = write;
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
            this.#inFlight = undefined;
            this.#scheduleRetry(err);
            return;
          }
        }
        this.#inFlight = undefined;
        if (this.#queue[0] === write) this.#forget(this.#queue.shift()!);
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
