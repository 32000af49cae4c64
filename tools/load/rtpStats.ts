// Receiver-side statistics of one RTP stream, from sequence numbers and
// timestamps only (RFC 3550 §6.4.1, A.1 and A.8): packets received and lost,
// and interarrival jitter. Pure: arrival times are passed in.

export class RtpStreamStats {
  received = 0;
  #baseSeq?: number;
  #maxExt = 0; // highest extended sequence number (with wrap-arounds)
  #cycles = 0;
  #transit?: number;
  #jitter = 0; // in RTP timestamp units

  constructor(readonly clockRate = 48_000) {}

  /** One packet: its sequence number, RTP timestamp, and arrival time in ms. */
  add(seq: number, rtpTimestamp: number, arrivalMs: number): void {
    this.received++;
    if (this.#baseSeq === undefined) {
      this.#baseSeq = seq;
      this.#maxExt = seq;
    } else {
      const max = this.#maxExt & 0xffff;
      const delta = (seq - max + 0x10000) & 0xffff;
      if (delta < 0x8000) {
        // In order (or a forward jump): a wrap when the 16-bit value goes down.
        if (seq < max) this.#cycles += 0x10000;
        this.#maxExt = this.#cycles + seq;
      }
      // else: late or duplicate; counted as received, does not move the max.
    }
    const arrival = (arrivalMs / 1000) * this.clockRate;
    const transit = arrival - rtpTimestamp;
    if (this.#transit !== undefined) {
      let d = transit - this.#transit;
      if (d < 0) d = -d;
      this.#jitter += (d - this.#jitter) / 16;
    }
    this.#transit = transit;
  }

  get expected(): number {
    return this.#baseSeq === undefined ? 0 : this.#maxExt - this.#baseSeq + 1;
  }

  /** Packets missing (never below zero: duplicates do not make negative loss). */
  get lost(): number {
    return Math.max(0, this.expected - this.received);
  }

  get lossRatio(): number {
    return this.expected ? this.lost / this.expected : 0;
  }

  get jitterMs(): number {
    return (this.#jitter / this.clockRate) * 1000;
  }
}
