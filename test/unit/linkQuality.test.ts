// The server's per-participant link rating between stats rounds (sfu/metrics/linkQuality.ts).
import { describe, expect, it } from 'vitest';
import { LOST_AFTER_MS } from '../../protocol/connectionQuality.ts';
import { LinkQuality } from '../../sfu/metrics/linkQuality.ts';

const round = (bytesReceived: number, extra: Partial<{ lossRatios: number[]; rttMs: number[]; jitterMs: number }> = {}) => ({
  bytesReceived,
  lossRatios: [],
  rttMs: [],
  ...extra,
});

describe('LinkQuality', () => {
  it('is lost once nothing arrived for LOST_AFTER_MS, and back when bytes arrive again', () => {
    const link = new LinkQuality(0);
    expect(link.observe(round(100), 1000)).toBe('excellent');
    expect(link.observe(round(100), 1000 + LOST_AFTER_MS - 1)).toBe('excellent');
    expect(link.observe(round(100), 1000 + LOST_AFTER_MS)).toBe('lost');
    expect(link.observe(round(150), 1000 + LOST_AFTER_MS + 500)).toBe('excellent');
  });

  it('counts a new participant as heard at its join, and takes the worst stream', () => {
    const link = new LinkQuality(10_000);
    expect(link.observe(round(0), 10_000 + LOST_AFTER_MS - 1)).toBe('excellent');
    expect(link.observe(round(1, { lossRatios: [0, 0.1], rttMs: [20, 30] }), 20_000)).toBe('poor');
    expect(link.observe(round(2, { lossRatios: [0.01], rttMs: [20, 250] }), 21_000)).toBe('good');
  });
});

