// One participant's connection quality as the server sees it, from one stats
// round to the next: whether anything arrived from them (bytes on their
// transports: media, RTCP, ICE checks), the loss and jitter of their
// microphone stream, and the RTT to them (their receiver reports). Not the
// loss they report receiving: mediasoup forwards a sender's gaps as they came,
// so that figure is mostly the senders' uplinks, and estimating the last hop
// from the difference of two loss fractions measured over different intervals
// was too noisy (listeners rated poor at 30 % loss upstream). Levels come from
// the shared definition (protocol/connectionQuality.ts).
import { LOST_AFTER_MS, type QualityLevel, connectionQuality } from '../../protocol/connectionQuality.ts';

/** What one sampling round measured for a participant. */
export interface LinkRound {
  /** Bytes received so far on all their transports (a running total). */
  bytesReceived: number;
  /** Loss ratios (0..1) of their streams, both directions. */
  lossRatios: number[];
  jitterMs?: number;
  rttMs: number[];
}

export class LinkQuality {
  #bytes = 0;
  #heardAt: number;

  /** A new participant counts as heard when it joined. */
  constructor(joinedAt: number) {
    this.#heardAt = joinedAt;
  }

  /** Adds a round measured at `now`; returns the level. */
  observe(round: LinkRound, now: number): QualityLevel {
    if (round.bytesReceived > this.#bytes) this.#heardAt = now;
    this.#bytes = Math.max(this.#bytes, round.bytesReceived);
    return connectionQuality({
      receiving: now - this.#heardAt < LOST_AFTER_MS,
      lossRatio: round.lossRatios.length ? Math.max(...round.lossRatios) : undefined,
      jitterMs: round.jitterMs,
      rttMs: round.rttMs.length ? Math.max(...round.rttMs) : undefined,
    });
  }
}

