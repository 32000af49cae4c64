// A room's ears: mediasoup's AudioLevelObserver (who sends audio, how loud,
// every intervalMs) and ActiveSpeakerObserver (the dominant speaker), feeding the
// forwarding policy's activity tracker. Both observers live on the room's
// router and close with it.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { SpeakerActivityTracker } from './forwardingPolicy.ts';

export interface SpeakerMonitorOptions {
  /** How often the level observer reports (ms). */
  intervalMs: number;
  /** Average level (dBov) at or above which a producer counts as speaking. */
  thresholdDbov: number;
  /** Most loud producers reported at once. */
  maxEntries: number;
}

type MonitorEvents = {
  /** A level report was applied to the tracker (every intervalMs while anyone sends audio, once on silence). */
  report: [];
  dominant: [producerId: string];
};

export class SpeakerMonitor extends EventEmitter<MonitorEvents> {
  readonly tracker: SpeakerActivityTracker;

  private constructor(
    readonly levels: types.AudioLevelObserver,
    readonly active: types.ActiveSpeakerObserver,
    thresholdDbov: number,
  ) {
    super();
    this.tracker = new SpeakerActivityTracker(thresholdDbov);
    levels.on('volumes', (volumes) => {
      this.tracker.report(
        volumes.map((v) => ({ producerId: v.producer.id, level: v.volume })),
        Date.now(),
      );
      this.emit('report');
    });
    levels.on('silence', () => {
      this.tracker.report([], Date.now());
      this.emit('report');
    });
    active.on('dominantspeaker', ({ producer }) => this.emit('dominant', producer.id));
  }

  static async create(router: types.Router, options: SpeakerMonitorOptions): Promise<SpeakerMonitor> {
    // The observer's floor threshold (-127) reports every producer that sent
    // audio frames (at least 10 per interval, so never Opus DTX); the tracker
    // applies the speaking threshold. The forwarding policy needs both: who
    // speaks, and who is idle (sends nothing) and so costs nothing to forward.
    const levels = await router.createAudioLevelObserver({
      interval: options.intervalMs,
      threshold: -127,
      maxEntries: options.maxEntries,
    });
    const active = await router.createActiveSpeakerObserver({ interval: 300 });
    return new SpeakerMonitor(levels, active, options.thresholdDbov);
  }

  async addProducer(producer: types.Producer): Promise<void> {
    await this.levels.addProducer({ producerId: producer.id });
    await this.active.addProducer({ producerId: producer.id });
    producer.observer.once('close', () => this.tracker.forget(producer.id));
  }
}
