// A participant's call quality, accumulated from periodic stats samples and
// summarized for the session record. Pure: samples in, summary out.

export interface QualitySummary {
  bytesSent: number;
  bytesReceived: number;
  /** Packet loss (0..1) over all samples of the participant's streams, both ways. */
  lossMean: number | null;
  lossWorst: number | null;
  jitterMeanMs: number | null;
  jitterWorstMs: number | null;
  rttMeanMs: number | null;
  rttWorstMs: number | null;
  mutedSeconds: number;
  speakingSeconds: number;
}

class Series {
  #sum = 0;
  #count = 0;
  #max = -Infinity;
  add(v: number): void {
    this.#sum += v;
    this.#count++;
    this.#max = Math.max(this.#max, v);
  }
  get mean(): number | null {
    return this.#count ? this.#sum / this.#count : null;
  }
  get worst(): number | null {
    return this.#count ? this.#max : null;
  }
}

export class QualityAccumulator {
  bytesSent = 0;
  bytesReceived = 0;
  readonly #loss = new Series();
  readonly #jitter = new Series();
  readonly #rtt = new Series();

  /** The participant's microphone stream as the server receives it. */
  addUplink(sample: { bytes: number; lossRatio: number; jitterMs: number }): void {
    this.bytesSent += sample.bytes;
    this.#loss.add(sample.lossRatio);
    this.#jitter.add(sample.jitterMs);
  }

  /** One stream the server forwards to the participant. */
  addDownlink(sample: { bytes: number; lossRatio: number; rttMs?: number }): void {
    this.bytesReceived += sample.bytes;
    this.#loss.add(sample.lossRatio);
    if (sample.rttMs !== undefined) this.#rtt.add(sample.rttMs);
  }

  summary(mutedSeconds: number, speakingSeconds: number): QualitySummary {
    return {
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      lossMean: this.#loss.mean,
      lossWorst: this.#loss.worst,
      jitterMeanMs: this.#jitter.mean,
      jitterWorstMs: this.#jitter.worst,
      rttMeanMs: this.#rtt.mean,
      rttWorstMs: this.#rtt.worst,
      mutedSeconds,
      speakingSeconds,
    };
  }
}
