// Rate limits per client address on the HTTP routes anyone can reach: POST
// /dev/token and the admin API (wrong secrets included). Over the limit: HTTP
// 429 with the API's JSON error shape (RATE_LIMITED) and Retry-After, served
// again after that wait; another address is not affected.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

let chorus: TestChorus;
const secret = 'an-admin-secret-for-tests';

beforeAll(async () => {
  chorus = await startTestChorus({
    http: { rateLimits: { devToken: { requestsPerSecond: 1, requestBurst: 3 }, admin: { requestsPerSecond: 1, requestBurst: 3 } } },
    // Addresses from X-Forwarded-For, so that one test can be several clients.
    signaling: { trustProxy: true },
    admin: { secret },
  });
});

afterAll(() => chorus?.stop());

const devToken = (from: string) =>
  fetch(`${chorus.url}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ room: 'limits', name: 'Ada' }),
  });

const admin = (from: string, bearer = secret) =>
  fetch(`${chorus.url}/admin/rooms`, { headers: { authorization: `Bearer ${bearer}`, 'x-forwarded-for': from } });

async function expectLimited(res: Response): Promise<number> {
  expect(res.status).toBe(429);
  expect(await res.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringMatching(/wait \d+ s/) } });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  return retryAfter;
}

it('limits POST /dev/token per client address: 429 RATE_LIMITED with Retry-After past the burst, served again after it', async () => {
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await devToken('198.51.100.1')).status);
  expect(statuses).toEqual([200, 200, 200]);
  const retryAfter = await expectLimited(await devToken('198.51.100.1'));
  expect((await devToken('198.51.100.2')).status).toBe(200); // someone else
  await new Promise((r) => setTimeout(r, retryAfter * 1000));
  expect((await devToken('198.51.100.1')).status).toBe(200);
});

it('limits the admin API per client address, wrong secrets included, before it checks the secret', async () => {
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await admin('198.51.100.9', 'a-guess-at-the-secret')).status);
  expect(statuses).toEqual([401, 401, 401]);
  // Now even the right secret waits: guessing is as slow as the limit.
  const retryAfter = await expectLimited(await admin('198.51.100.9'));
  expect((await admin('198.51.100.10')).status).toBe(200);
  await new Promise((r) => setTimeout(r, retryAfter * 1000));
  expect((await admin('198.51.100.9')).status).toBe(200);
});
