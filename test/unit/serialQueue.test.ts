import { describe, expect, it } from 'vitest';
import { SerialQueue } from '../../sfu/util/serialQueue.ts';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SerialQueue', () => {
  it('runs tasks one at a time in push order, even when earlier ones are slower', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const a = q.push(async () => {
      log.push('a start');
      await tick(30);
      log.push('a end');
    });
    const b = q.push(async () => {
      log.push('b start');
      log.push('b end');
    });
    await Promise.all([a, b]);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  it('passes a failure to its caller and keeps running the next tasks', async () => {
    const q = new SerialQueue();
    const failed = q.push(async () => {
      throw new Error('boom');
    });
    const next = q.push(async () => 42);
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe(42);
  });
});
