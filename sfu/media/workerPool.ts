// The mediasoup workers of this process: one per CPU core by default, each with
// one WebRtcServer (one UDP + one TCP port) that all of its transports share.
//
// The pool owns the workers: it creates them, hands out the least-loaded one
// for a new room, and closes them. A worker that dies is logged and removed;
// the routers on it close with it (their rooms hear that through their router
// and move to a live worker: see Room), and the pool starts a replacement with
// the same index and ports, after a backoff. A worker that
// keeps dying (more than `restarts.max` times within `restarts.windowMs`) is
// not restarted again: the pool reports it as crash-looping and /readyz fails.
// A health check asks every worker for its resource usage; one that does not
// answer within the deadline is stuck: it is killed, and so replaced.
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface WorkerPoolOptions {
  /** Number of workers to start. */
  count: number;
  /** IP the WebRtcServers bind. */
  listenIp: string;
  /** Address announced in ICE candidates. */
  announcedAddress: string;
  /** Worker i listens on rtcPortBase + i (UDP and TCP). 0 = any free port (tests). */
  rtcPortBase: number;
  workerLogLevel: types.WorkerLogLevel;
  log: Logger;
  /** Replacing dead workers: at most `max` restarts of one index within `windowMs` (0 = never restart). */
  restarts?: { max: number; windowMs: number };
  /** Health check: every `intervalMs`, a worker must answer within `timeoutMs` (0 = off). */
  health?: { intervalMs: number; timeoutMs: number };
}

/** One worker process, its WebRtcServer, and what runs on it. */
export class MediaWorker {
  #consumers = 0;
  #routers = 0;
  /** Consumers that participants placed here are still expected to add (see `load`). */
  readonly #expected = new Set<() => number>();
  /** A health check is waiting for this worker's answer. */
  checking = false;

  constructor(
    readonly index: number,
    readonly worker: types.Worker,
    readonly webRtcServer: types.WebRtcServer,
  ) {
    // Track load through mediasoup's observers (they fire whatever closes what).
    worker.observer.on('newrouter', (router) => {
      router.observer.on('newtransport', (transport) => {
        transport.observer.on('newconsumer', (consumer) => {
          this.#consumers++;
          consumer.observer.once('close', () => this.#consumers--);
        });
      });
    });
  }

  get pid(): number {
    return this.worker.pid;
  }

  get routerCount(): number {
    return this.#routers;
  }

  /** Consumers are what costs a worker CPU in an audio SFU: one per forwarded stream. */
  get consumerCount(): number {
    return this.#consumers;
  }

  /**
   * What placement weighs: the consumers here plus those that participants
   * placed here are expected to add and do not hold yet (a join is placed
   * before its consumers exist; without this, joins arriving together would
   * all land on the same worker).
   */
  get load(): number {
    let load = this.#consumers;
    for (const outstanding of this.#expected) load += outstanding();
    return load;
  }

  /** Counts `outstanding()` (consumers still to come) in `load` until the returned function is called. */
  expect(outstanding: () => number): () => void {
    this.#expected.add(outstanding);
    return () => this.#expected.delete(outstanding);
  }

  /** Called by the pool when it creates a router here. */
  trackRouter(router: types.Router): void {
    this.#routers++;
    router.observer.once('close', () => this.#routers--);
  }
}

type PoolEvents = { workerDied: [MediaWorker, Error]; workerStarted: [MediaWorker] };

export class WorkerPool extends EventEmitter<PoolEvents> {
  readonly #workers: MediaWorker[] = [];
  readonly #log: Logger;
  #closed = false;
  /** Recent deaths (Date.now()) per worker index, for the crash-loop limit. */
  readonly #deaths = new Map<number, number[]>();
  /** Indexes that died too often and are not restarted any more. */
  readonly crashLooping = new Set<number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Indexes whose replacement is scheduled or starting. */
  readonly #restarting = new Set<number>();

  private constructor(readonly options: WorkerPoolOptions) {
    super();
    this.#log = options.log;
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      for (let i = 0; i < options.count; i++) pool.#workers.push(await pool.#startWorker(i, options));
    } catch (err) {
      await pool.close();
      throw err;
    }
    pool.#startHealthChecks();
    return pool;
  }

  /** Restarts worker `index` after a backoff, unless it is crash-looping or the pool closed. */
  #scheduleRestart(index: number): void {
    const { max, windowMs } = this.options.restarts ?? { max: 5, windowMs: 60_000 };
    const now = Date.now();
    const deaths = (this.#deaths.get(index) ?? []).filter((t) => now - t < windowMs);
    deaths.push(now);
    this.#deaths.set(index, deaths);
    if (deaths.length > max) {
      this.crashLooping.add(index);
      this.#log.error('worker keeps dying: not restarting it', { index, deaths: deaths.length, windowMs });
      return;
    }
    // 0.2 s after the first death, doubling with each recent one (at most 10 s).
    const delay = Math.min(10_000, 200 * 2 ** (deaths.length - 1));
    this.#restarting.add(index);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed) return;
      this.#startWorker(index, this.options).then(
        (media) => {
          this.#restarting.delete(index);
          if (this.#closed) return void media.worker.close();
          this.#workers.push(media);
          this.#workers.sort((a, b) => a.index - b.index);
          this.emit('workerStarted', media);
        },
        (error: Error) => {
          this.#restarting.delete(index);
          this.#log.error('cannot restart worker', { index, error });
          this.#scheduleRestart(index);
        },
      );
    }, delay);
    this.#timers.add(timer);
  }

  /** Every worker must answer a request within the deadline; a stuck one is killed (and so replaced). */
  #startHealthChecks(): void {
    const { intervalMs, timeoutMs } = this.options.health ?? { intervalMs: 5000, timeoutMs: 3000 };
    if (intervalMs <= 0) return;
    const timer = setInterval(() => {
      for (const media of this.#workers) {
        if (media.checking) continue;
        media.checking = true;
        let answered = false;
        const deadline = setTimeout(() => {
          if (answered || media.worker.closed) return;
          this.#log.error('worker does not answer: killing it', { index: media.index, pid: media.pid, timeoutMs });
          try {
            process.kill(media.pid, 'SIGKILL');
          } catch {
            // Gone already.
          }
        }, timeoutMs);
        media.worker
          .getResourceUsage()
          .catch(() => undefined)
          .finally(() => {
            answered = true;
            media.checking = false;
            clearTimeout(deadline);
          });
      }
    }, intervalMs);
    timer.unref();
    this.#timers.add(timer);
  }

  async #startWorker(index: number, options: WorkerPoolOptions): Promise<MediaWorker> {
    const worker = await mediasoup.createWorker({ logLevel: options.workerLogLevel });
    let webRtcServer: types.WebRtcServer;
    try {
      const port = options.rtcPortBase === 0 ? undefined : options.rtcPortBase + index;
      const listen = { ip: options.listenIp, announcedAddress: options.announcedAddress, port };
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { ...listen, protocol: 'udp' },
          { ...listen, protocol: 'tcp' },
        ],
      });
    } catch (err) {
      worker.close();
      throw new Error(`worker ${index}: cannot listen for RTC on ${options.listenIp}:${options.rtcPortBase + index}: ${(err as Error).message}`);
    }
    const media = new MediaWorker(index, worker, webRtcServer);
    worker.on('died', (error) => this.#onDied(media, error));
    this.#log.info('worker started', {
      index,
      pid: worker.pid,
      ports: (await webRtcServer.dump()).udpSockets.map((s) => s.port),
    });
    return media;
  }

  #onDied(media: MediaWorker, error: Error): void {
    const i = this.#workers.indexOf(media);
    if (i >= 0) this.#workers.splice(i, 1);
    this.#log.error('worker died; its rooms move to a live worker and it is restarted', {
      index: media.index,
      pid: media.pid,
      error,
      workersLeft: this.#workers.length,
    });
    this.emit('workerDied', media, error);
    if (!this.#closed && (this.options.restarts?.max ?? 5) > 0) this.#scheduleRestart(media.index);
  }

  get workers(): readonly MediaWorker[] {
    return this.#workers;
  }

  /**
   * The live worker with the least load (consumers; ties: fewest routers). A worker
   * that just died is skipped: mediasoup closes its routers (and so their rooms
   * look for a new one) before it reports the death.
   */
  #pick(): MediaWorker | undefined {
    let best: MediaWorker | undefined;
    for (const w of this.#workers) {
      if (w.worker.closed) continue;
      if (
        !best ||
        w.load < best.load ||
        (w.load === best.load && w.routerCount < best.routerCount)
      ) {
        best = w;
      }
    }
    return this.#closed ? undefined : best;
  }

  /** The next worker to start, if a replacement is on its way and comes within `ms`. */
  #nextStarted(ms: number): Promise<MediaWorker | undefined> {
    if (this.#closed || this.#restarting.size === 0 || ms <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const started = (media: MediaWorker) => {
        clearTimeout(timer);
        resolve(media);
      };
      const timer = setTimeout(() => {
        this.off('workerStarted', started);
        resolve(undefined);
      }, ms);
      this.once('workerStarted', started);
    });
  }

  /**
   * A router on the least-loaded live worker, or on `on` (a room spreading
   * over workers picks its own). With `waitMs`, when none is alive but a
   * replacement is starting, waits up to that long for it.
   */
  async createRouter(
    mediaCodecs: types.RouterRtpCodecCapability[],
    { waitMs = 0, on }: { waitMs?: number; on?: MediaWorker } = {},
  ): Promise<{ media: MediaWorker; router: types.Router }> {
    const media = on ?? this.#pick() ?? (await this.#nextStarted(waitMs));
    if (!media || media.worker.closed || this.#closed) throw new ChorusError('SERVER_BUSY', 'no media worker is available');
    const router = await media.worker.createRouter({ mediaCodecs });
    media.trackRouter(router);
    return { media, router };
  }

  /** Closes every worker and resolves when their processes have exited. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const exited = this.#workers.map(({ worker }) => {
      const done = worker.subprocessClosed ? Promise.resolve() : new Promise<void>((r) => worker.once('subprocessclose', r));
      worker.close();
      return done;
    });
    this.#workers.length = 0;
    await Promise.all(exited);
  }
}
