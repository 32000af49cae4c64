// Connection quality levels, computed the same way by the server (for every
// participant, from mediasoup's view of their streams) and by the web page (for
// itself, from the browser's getStats). Pure and without imports, so server,
// page and tests share it.

export const qualityLevels = ['excellent', 'good', 'poor', 'lost'] as const;
export type QualityLevel = (typeof qualityLevels)[number];

/** One measurement of a participant's link. Missing figures (no stream to measure) count as fine. */
export interface LinkSample {
  /** Anything arrived from the other side recently (media, RTCP or ICE checks). */
  receiving: boolean;
  /** Round-trip time (ms). */
  rttMs?: number;
  /** Packet loss, 0..1 (the worse direction). */
  lossRatio?: number;
  /** Interarrival jitter (ms). */
  jitterMs?: number;
}

/**
 * Where each level ends: a sample at or above any `good` figure is at best
 * good, at or above any `poor` figure poor. Opus with in-band FEC hides a few
 * per cent of loss; above ~8 % or 400 ms RTT a conversation suffers.
 */
export const QUALITY_LIMITS = {
  good: { lossRatio: 0.02, rttMs: 200, jitterMs: 30 },
  poor: { lossRatio: 0.08, rttMs: 400, jitterMs: 60 },
} as const;

/** How long nothing may arrive before a link counts as lost (ms). */
export const LOST_AFTER_MS = 3000;

export function connectionQuality(sample: LinkSample): QualityLevel {
  if (!sample.receiving) return 'lost';
  const atLeast = (limits: (typeof QUALITY_LIMITS)['good' | 'poor']) =>
    (sample.lossRatio ?? 0) >= limits.lossRatio || (sample.rttMs ?? 0) >= limits.rttMs || (sample.jitterMs ?? 0) >= limits.jitterMs;
  if (atLeast(QUALITY_LIMITS.poor)) return 'poor';
  if (atLeast(QUALITY_LIMITS.good)) return 'good';
  return 'excellent';
}

/** The worse of two levels (undefined: not known, ignored). */
export function worseOf(a: QualityLevel | undefined, b: QualityLevel | undefined): QualityLevel | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return qualityLevels.indexOf(a) >= qualityLevels.indexOf(b) ? a : b;
}
