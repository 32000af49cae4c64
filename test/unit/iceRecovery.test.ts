import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { IceRecovery } from '../../client/iceRecovery.ts';

let restarts: number;
let gaveUp: number;
let recovery: IceRecovery;

beforeEach(() => {
  vi.useFakeTimers();
  restarts = gaveUp = 0;
  recovery = new IceRecovery(
    () => void restarts++,
    () => void gaveUp++,
    { disconnectedWaitMs: 2000, restartTimeoutMs: 8000, maxRestarts: 3 },
  );
});
afterEach(() => {
  recovery.stop();
  vi.useRealTimers();
});

it('restarts ICE after a disconnection that lasts, and not after one that heals by itself', () => {
  recovery.on('connected');
  recovery.on('disconnected');
  vi.advanceTimersByTime(1500);
  recovery.on('connected');
  vi.advanceTimersByTime(10_000);
  expect(restarts).toBe(0);
  recovery.on('disconnected');
  vi.advanceTimersByTime(1999);
  expect(restarts).toBe(0);
  vi.advanceTimersByTime(1);
  expect(restarts).toBe(1);
});

it('restarts ICE at once on failure', () => {
  recovery.on('connected');
  recovery.on('failed');
  expect(restarts).toBe(1);
});

it('tries again when a restart does not connect in time, and gives up after the limit', () => {
  recovery.on('failed');
  expect(restarts).toBe(1);
  vi.advanceTimersByTime(8000);
  expect(restarts).toBe(2);
  recovery.on('failed'); // the browser says so before the timeout
  expect(restarts).toBe(3);
  expect(gaveUp).toBe(0);
  vi.advanceTimersByTime(8000);
  expect(restarts).toBe(3);
  expect(gaveUp).toBe(1);
  vi.advanceTimersByTime(60_000);
  recovery.on('failed');
  expect([restarts, gaveUp]).toEqual([3, 1]);
});

it('starts counting again once connected', () => {
  recovery.on('failed');
  recovery.on('failed');
  recovery.on('connected');
  recovery.on('failed');
  recovery.on('failed');
  recovery.on('failed');
  expect(gaveUp).toBe(0);
  expect(restarts).toBe(5);
});
