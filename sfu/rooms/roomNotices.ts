// What a room tells everyone about everyone, repeatedly: who speaks and how
// loud (`speakers`, at most every LEVELS_NOTIFY_MS and only when it changed;
// the people here and the mirrors of people elsewhere whose voices are piped here)
// and everyone's connection quality (`connectionQuality`, when it changed).
// Owned by its Room; `close()` stops its timer.
import type { NotificationData } from '../../protocol/messages.ts';
import type { SpeakerActivityTracker } from './forwardingPolicy.ts';
import type { Participant } from './participant.ts';

/** Speaker levels are pushed to clients at most this often, and only when they change. */
const LEVELS_NOTIFY_MS = 200;

type Levels = NotificationData<'speakers'>;
type Quality = NotificationData<'connectionQuality'>;

export class RoomNotices {
  #lastLevels = '';
  #lastLevelsAt = 0;
  #lastQuality = '';
  #timer?: NodeJS.Timeout;
  #closed = false;

  constructor(
    /** Whose levels count: the room's people, and mirrors of people elsewhere. */
    readonly participants: () => Iterable<Participant>,
    readonly tracker: () => SpeakerActivityTracker,
    readonly thresholdDbov: number,
    readonly send: { speakers(data: Levels): void; connectionQuality(data: Quality): void },
  ) {}

  /** Someone joined: the next reports go to everyone, the joiner included. */
  joined(): void {
    this.#lastLevels = '';
    this.#lastQuality = '';
  }

  /** A level report came: tell the levels soon (no sooner than LEVELS_NOTIFY_MS after the last time). */
  levelsReported(): void {
    if (this.#timer || this.#closed) return; // a send is already due
    const wait = Math.max(0, this.#lastLevelsAt + LEVELS_NOTIFY_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sendLevels();
    }, wait);
  }

  /** Tells everyone who is speaking and how loud, if that changed since the last time. */
  #sendLevels(): void {
    if (this.#closed) return;
    const tracker = this.tracker();
    const levels = [...this.participants()].flatMap((p) => {
      const a = p.producer && !p.muted ? tracker.get(p.producer.id) : undefined;
      if (!a || !a.speaking) return [];
      return [{ participantId: p.id, level: levelToUnit(a.level, this.thresholdDbov), speaking: true }];
    });
    const key = JSON.stringify(levels);
    if (key === this.#lastLevels) return;
    this.#lastLevels = key;
    this.#lastLevelsAt = Date.now();
    this.send.speakers({ levels });
  }

  /** Everyone's connection quality (from the stats sampler): told to everyone when it changed. */
  connectionQuality(levels: Quality['levels']): void {
    const key = JSON.stringify(levels);
    if (this.#closed || key === this.#lastQuality) return;
    this.#lastQuality = key;
    this.send.connectionQuality({ levels });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}

/** A speaking level (dBov) as 0..1 above the threshold, in steps of 0.1, for meters. */
export function levelToUnit(dbov: number, thresholdDbov: number): number {
  const unit = (dbov - thresholdDbov) / -thresholdDbov;
  return Math.round(Math.min(1, Math.max(0, unit)) * 10) / 10;
}
