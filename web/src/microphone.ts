// The page's microphone: opens it with the person's processing settings,
// measures its level (on a clone of the track, so that the meter still hears
// speech while muted: muting disables the sent track), and notices when the
// device goes away (unplugged: the track ends, with or without an 'ended' event).
import { type AudioSettings, micConstraints } from './audioSettings.ts';
import { MicLevel } from './micLevel.ts';

export interface MicrophoneEvents {
  /** The level changed (0..1). */
  onLevel(level: number): void;
  /** Every measurement (~10/s), with the level. */
  onTick(level: number): void;
  /** The track in use ended (the device went away). */
  onLost(track: MediaStreamTrack): void;
}

export class Microphone {
  #track?: MediaStreamTrack;
  #level?: MicLevel;
  #clone?: MediaStreamTrack;

  constructor(readonly events: MicrophoneEvents) {}

  get track(): MediaStreamTrack | undefined {
    return this.#track;
  }

  /** A new track from `deviceId` (the default microphone without one); it is not used until use(). */
  static async open(settings: AudioSettings, deviceId?: string): Promise<MediaStreamTrack> {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: micConstraints(settings, deviceId) });
    return stream.getAudioTracks()[0]!;
  }

  /** Makes `track` the microphone: the previous one stops. */
  use(track: MediaStreamTrack): void {
    this.close();
    this.#track = track;
    this.#clone = track.clone();
    this.#clone.enabled = true;
    let lost = false;
    const onEnded = () => {
      if (lost || this.#track !== track) return;
      lost = true;
      this.events.onLost(track);
    };
    track.addEventListener('ended', onEnded);
    this.#level = new MicLevel(this.#clone, (level) => this.events.onLevel(level), (level) => {
      // stop() and some unplugs end a track without an 'ended' event.
      if (track.readyState === 'ended') onEnded();
      else this.events.onTick(level);
    });
  }

  close(): void {
    this.#level?.close();
    this.#clone?.stop();
    this.#track?.stop();
    this.#level = this.#clone = this.#track = undefined;
  }
}
