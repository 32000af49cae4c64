// The front door's pure policy: origins, client addresses, the token bucket
// and its keeping by identity, sockets per address. (The integration test
// test/integration/frontDoor.test.ts checks each limit on a real server.)
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AddressCounter, clientAddress, KeyedBuckets, originAllowed, TokenBucket } from '../../sfu/signaling/frontDoor.ts';

describe('originAllowed', () => {
  it('by default admits the same host only (port included), and requests without an Origin', () => {
    expect(originAllowed('https://chorus.example', 'chorus.example', [])).toBe(true);
    expect(originAllowed('http://localhost:3000', 'localhost:3000', [])).toBe(true);
    expect(originAllowed('http://LOCALHOST:3000', 'localhost:3000', [])).toBe(true);
    expect(originAllowed(undefined, 'chorus.example', [])).toBe(true);
    expect(originAllowed('http://localhost:3001', 'localhost:3000', [])).toBe(false);
    expect(originAllowed('https://chorus.example.evil.example', 'chorus.example', [])).toBe(false);
    expect(originAllowed('null', 'chorus.example', [])).toBe(false);
    expect(originAllowed('https://chorus.example', undefined, [])).toBe(false);
  });

  it('with a list, admits exactly its origins (scheme and port included); "*" admits any', () => {
    const list = ['https://app.example.com', 'http://localhost:5173/'];
    expect(originAllowed('https://app.example.com', 'chorus.internal', list)).toBe(true);
    expect(originAllowed('http://localhost:5173', 'chorus.internal', list)).toBe(true);
    expect(originAllowed('http://app.example.com', 'chorus.internal', list)).toBe(false);
    expect(originAllowed('https://app.example.com:8443', 'chorus.internal', list)).toBe(false);
    expect(originAllowed('https://chorus.internal', 'chorus.internal', list)).toBe(false);
    expect(originAllowed('https://anything.example', 'x', ['*'])).toBe(true);
  });
});

describe('clientAddress', () => {
  const req = (remoteAddress: string, xff?: string) =>
    ({ socket: { remoteAddress }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

  it('is the TCP peer unless the proxy is trusted; then the last X-Forwarded-For entry (what our proxy appended)', () => {
    expect(clientAddress(req('10.0.0.5', '1.2.3.4'), false)).toBe('10.0.0.5');
    expect(clientAddress(req('10.0.0.5', 'spoofed, 1.2.3.4'), true)).toBe('1.2.3.4');
    expect(clientAddress(req('10.0.0.5'), true)).toBe('10.0.0.5');
    expect(clientAddress(req('10.0.0.5', ' , '), true)).toBe('10.0.0.5');
  });
});

describe('TokenBucket', () => {
  it('allows the burst, refills at the rate, refuses past it, and closes once another burst is owed', () => {
    const b = new TokenBucket(10, 5, 0);
    expect(Array.from({ length: 5 }, () => b.take(0))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(b.take(0)).toBe('limited'); // a refused request costs a token too: 1 owed
    expect(b.take(200)).toBe('ok'); // +2 tokens: the debt paid, one to spend
    expect(Array.from({ length: 5 }, () => b.take(200))).toEqual(['limited', 'limited', 'limited', 'limited', 'close']);
    expect(b.take(200)).toBe('close');
    expect(b.balance(200)).toBe(-5); // never owes more than a burst
    expect(b.take(1_000)).toBe('ok'); // paid back after waiting (+8)
  });

  it('never holds more than the burst, however long it waited', () => {
    const b = new TokenBucket(10, 5, 0);
    expect(b.balance(3_600_000)).toBe(5);
  });
});

describe('KeyedBuckets', () => {
  it('gives a rejoining identity its old bucket, takes the stricter of two, and forgets idle identities', () => {
    const buckets = new KeyedBuckets(10, 5);
    const first = new TokenBucket(10, 5, 0);
    for (let i = 0; i < 8; i++) first.take(0);
    expect(buckets.claim('ada', first, 0)).toBe(first);
    const fresh = new TokenBucket(10, 5, 0);
    const again = buckets.claim('ada', fresh, 0);
    expect(again).toBe(first);
    expect(again.take(0)).toBe('limited');
    expect(buckets.claim('bob', fresh, 0).take(0)).toBe('ok');
    buckets.sweep(10_000);
    expect(buckets.size).toBe(2);
    buckets.sweep(70_000); // full again long ago, plus a minute
    expect(buckets.size).toBe(0);
  });

  it('hands out one bucket per key (addresses, for HTTP routes), full the first time', () => {
    const buckets = new KeyedBuckets(1, 2);
    const a = buckets.get('198.51.100.1', 0);
    expect([a.take(0), a.take(0), a.take(0)]).toEqual(['ok', 'ok', 'limited']);
    expect(buckets.get('198.51.100.1', 0)).toBe(a);
    expect(buckets.get('198.51.100.2', 0).take(0)).toBe('ok');
    buckets.sweep(70_000);
    expect(buckets.size).toBe(0);
  });
});

describe('AddressCounter', () => {
  it('counts sockets per address up to the cap, and frees places', () => {
    const c = new AddressCounter(2);
    expect([c.tryOpen('a'), c.tryOpen('a'), c.tryOpen('a'), c.tryOpen('b')]).toEqual([true, true, false, true]);
    c.release('a');
    expect(c.tryOpen('a')).toBe(true);
    c.release('b');
    expect(c.count('b')).toBe(0);
  });
});
