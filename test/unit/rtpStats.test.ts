import { describe, expect, it } from 'vitest';
import { RtpStreamStats } from '../../tools/load/rtpStats.ts';

/** Packets every 20 ms (960 ticks at 48 kHz). */
function feed(s: RtpStreamStats, seqs: number[], jitterMs = () => 0) {
  seqs.forEach((seq, i) => s.add(seq & 0xffff, (i * 960) >>> 0, i * 20 + jitterMs()));
}

describe('RtpStreamStats', () => {
  it('counts no loss and no jitter for a perfect stream, across a sequence wrap-around', () => {
    const s = new RtpStreamStats();
    feed(s, Array.from({ length: 100 }, (_, i) => 65500 + i));
    expect([s.received, s.expected, s.lost]).toEqual([100, 100, 0]);
    expect(s.jitterMs).toBeCloseTo(0, 6);
  });

  it('counts the gaps as lost', () => {
    const s = new RtpStreamStats();
    feed(s, [1, 2, 3, 6, 7, 10]);
    expect([s.expected, s.received, s.lost]).toEqual([10, 6, 4]);
    expect(s.lossRatio).toBeCloseTo(0.4);
  });

  it('counts a late packet as received, not as a new maximum', () => {
    const s = new RtpStreamStats();
    feed(s, [1, 2, 4, 3, 5]);
    expect([s.expected, s.received, s.lost]).toEqual([5, 5, 0]);
  });

  it('measures jitter from varying arrival times', () => {
    const s = new RtpStreamStats();
    let flip = false;
    feed(s, Array.from({ length: 200 }, (_, i) => i), () => ((flip = !flip) ? 5 : 0));
    // Transit alternates by 5 ms; RFC 3550's estimator converges to that.
    expect(s.jitterMs).toBeGreaterThan(4);
    expect(s.jitterMs).toBeLessThan(5.1);
  });
});
