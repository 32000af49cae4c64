// Measures a microphone track's level (RMS, 0..1) about ten times a second.
export class MicLevel {
  readonly #context = new AudioContext();
  readonly #timer: ReturnType<typeof setInterval>;

  /** `onLevel` runs when the level changes; `onTick` every measurement, with the level. */
  constructor(track: MediaStreamTrack, onLevel: (level: number) => void, onTick?: (level: number) => void) {
    const source = this.#context.createMediaStreamSource(new MediaStream([track]));
    const analyser = this.#context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let last = -1;
    this.#timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      // RMS on a rough perceptual scale: -60 dBFS → 0, 0 dBFS → 1.
      const db = 10 * Math.log10(sum / samples.length + 1e-12);
      const level = Math.round(Math.min(1, Math.max(0, (db + 60) / 60)) * 20) / 20;
      if (level !== last) onLevel((last = level));
      onTick?.(level);
    }, 100);
  }

  close(): void {
    clearInterval(this.#timer);
    void this.#context.close();
  }
}
