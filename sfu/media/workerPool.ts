// The mediasoup workers of this process: one per CPU core by default, each with
// one WebRtcServer (one UDP + one TCP port) that all of its transports share.
//
// The pool owns the workers: it creates them, hands out the least-loaded one
// for a new room, and closes them. A worker that dies is logged and removed;
// the routers on it close with it (their rooms hear that through their router),
// and the pool keeps serving new rooms on the remaining workers.
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
}

/** One worker process, its WebRtcServer, and what runs on it. */
export class MediaWorker {
  #consumers = 0;
  #routers = 0;

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

  /** Called by the pool when it creates a router here. */
  trackRouter(router: types.Router): void {
    this.#routers++;
    router.observer.once('close', () => this.#routers--);
  }
}

type PoolEvents = { workerDied: [MediaWorker, Error] };

export class WorkerPool extends EventEmitter<PoolEvents> {
  readonly #workers: MediaWorker[] = [];
  readonly #log: Logger;
  #closed = false;

  private constructor(log: Logger) {
    super();
    this.#log = log;
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options.log);
    try {
      for (let i = 0; i < options.count; i++) pool.#workers.push(await pool.#startWorker(i, options));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
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
    this.#log.error('worker died; its rooms are closed', {
      index: media.index,
      pid: media.pid,
      error,
      workersLeft: this.#workers.length,
    });
    this.emit('workerDied', media, error);
  }

  get workers(): readonly MediaWorker[] {
    return this.#workers;
  }

  /** The worker with the fewest consumers (ties: fewest routers). */
  leastLoaded(): MediaWorker {
    let best: MediaWorker | undefined;
    for (const w of this.#workers) {
      if (
        !best ||
        w.consumerCount < best.consumerCount ||
        (w.consumerCount === best.consumerCount && w.routerCount < best.routerCount)
      ) {
        best = w;
      }
    }
    if (!best || this.#closed) throw new ChorusError('SERVER_BUSY', 'no media worker is available');
    return best;
  }

  async createRouter(mediaCodecs: types.RouterRtpCodecCapability[]): Promise<{ media: MediaWorker; router: types.Router }> {
    const media = this.leastLoaded();
    const router = await media.worker.createRouter({ mediaCodecs });
    media.trackRouter(router);
    return { media, router };
  }

  /** Closes every worker and resolves when their processes have exited. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const exited = this.#workers.map(({ worker }) => {
      const done = worker.subprocessClosed ? Promise.resolve() : new Promise<void>((r) => worker.once('subprocessclose', r));
      worker.close();
      return done;
    });
    this.#workers.length = 0;
    await Promise.all(exited);
  }
}
