// Remote audio through WebAudio, so that each person has their own volume
// (a gain of 0–2, which an <audio> element's volume, at most 1, cannot do).
// One AudioContext for the page; per remote stream: source → gain → a
// MediaStream that the page's <audio> element plays. Chromium feeds WebAudio
// silence from a remote WebRTC stream that no media element plays, so the raw
// stream also goes to a muted element (RemoteAudio renders both).
export interface Route {
  /** What to play: the stream after the gain. */
  output: MediaStream;
  setGain(gain: number): void;
  close(): void;
}

export class Playback {
  #context?: AudioContext;

  get context(): AudioContext {
    return (this.#context ??= new AudioContext());
  }

  route(stream: MediaStream, gain: number): Route {
    const ctx = this.context;
    const source = ctx.createMediaStreamSource(stream);
    const amp = ctx.createGain();
    amp.gain.value = gain;
    const sink = ctx.createMediaStreamDestination();
    source.connect(amp).connect(sink);
    return {
      output: sink.stream,
      setGain: (g) => {
        amp.gain.setValueAtTime(g, ctx.currentTime);
      },
      close: () => {
        source.disconnect();
        amp.disconnect();
      },
    };
  }

  /** Starts the context (browsers keep it suspended until the person interacts with the page). */
  resume(): void {
    if (this.#context?.state === 'suspended') void this.#context.resume().catch(() => {});
  }

  close(): void {
    void this.#context?.close();
    this.#context = undefined;
  }
}
