// Connection quality levels from RTT, loss and jitter (protocol/connectionQuality.ts).
import { describe, expect, it } from 'vitest';
import { QUALITY_LIMITS, connectionQuality } from '../../protocol/connectionQuality.ts';

describe('connectionQuality', () => {
  it('is lost when nothing arrives, whatever the last figures', () => {
    expect(connectionQuality({ receiving: false })).toBe('lost');
    expect(connectionQuality({ receiving: false, rttMs: 5, lossRatio: 0, jitterMs: 1 })).toBe('lost');
  });

  it('is excellent on a clean link, and when there is no stream to measure', () => {
    expect(connectionQuality({ receiving: true, rttMs: 20, lossRatio: 0, jitterMs: 3 })).toBe('excellent');
    expect(connectionQuality({ receiving: true })).toBe('excellent');
  });

  it.each([
    ['rttMs', 'good', QUALITY_LIMITS.good.rttMs],
    ['rttMs', 'poor', QUALITY_LIMITS.poor.rttMs],
    ['lossRatio', 'good', QUALITY_LIMITS.good.lossRatio],
    ['lossRatio', 'poor', QUALITY_LIMITS.poor.lossRatio],
    ['jitterMs', 'good', QUALITY_LIMITS.good.jitterMs],
    ['jitterMs', 'poor', QUALITY_LIMITS.poor.jitterMs],
  ] as const)('drops to %s=%s at its limit, not just below it', (figure, level, limit) => {
    const below = limit * 0.99;
    const better = level === 'good' ? 'excellent' : 'good';
    expect(connectionQuality({ receiving: true, [figure]: limit })).toBe(level);
    expect(connectionQuality({ receiving: true, [figure]: below })).toBe(better);
  });

  it('takes the worst figure', () => {
    expect(connectionQuality({ receiving: true, rttMs: 10, lossRatio: 0.2, jitterMs: 1 })).toBe('poor');
    expect(connectionQuality({ receiving: true, rttMs: 250, lossRatio: 0, jitterMs: 1 })).toBe('good');
  });
});
