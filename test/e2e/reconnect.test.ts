// A call in real browsers survives, with nobody clicking anything: its
// signaling connections reset by the server side (what a proxy restart or a
// NAT timeout does), the room's worker killed (the room moves to the other
// worker with its participants), Chorus restarted. Every page says it is
// reconnecting, then hears the others again.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type InRoom, hearing, joinRoomInBrowsers, sawReconnecting, watchReconnecting } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { freePort } from '../support/freePort.ts';

let chorus: TestChorus;
let pages: Record<'a' | 'b' | 'c', InRoom>;
const tones = { a: 440, b: 660, c: 880 } as const;

let port: number;

beforeAll(async () => {
  port = await freePort();
  chorus = await startTestChorus({ http: { port }, media: { workers: 2 } });
  pages = await joinRoomInBrowsers(chorus, 'reset', [
    { name: 'a', hz: tones.a },
    { name: 'b', hz: tones.b },
    { name: 'c', hz: tones.c },
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(pages ?? {}).map((p) => p.close()));
  await chorus?.stop();
});

/** Which of the others' tones page `who` plays now (participant id → tone heard). */
async function tonesHeardBy(who: keyof typeof pages): Promise<Record<string, number>> {
  const heard = await hearing(pages[who].page);
  return Object.fromEntries(Object.entries(heard).flatMap(([id, h]) => (h.playing && h.db > -60 ? [[id, Math.round(h.hz / 10) * 10]] : [])));
}

function expectedBy(who: keyof typeof pages): Record<string, number> {
  return Object.fromEntries((Object.keys(pages) as (keyof typeof pages)[]).filter((o) => o !== who).map((o) => [pages[o].id, tones[o]]));
}

/** Each page records whether it ever shows "Reconnecting…" from now on. */
async function watchEveryPage(): Promise<void> {
  for (const p of Object.values(pages)) await watchReconnecting(p.page);
}

/** Every page said it was reconnecting, is back in the call with no error, and hears the two others. */
async function expectEveryoneBack(): Promise<void> {
  for (const p of Object.values(pages)) {
    await expect.poll(() => sawReconnecting(p.page)).toBe(true);
    await p.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 20_000 });
    expect(await p.page.locator('[data-testid="call"]').getAttribute('data-phase')).toBe('joined');
    expect(await p.page.getByTestId('error').count()).toBe(0);
  }
  // Rejoined pages have new participant ids (moved or resumed ones the same): find them by name.
  const room = chorus.rooms.rooms.get('reset')!;
  for (const [name, p] of Object.entries(pages)) p.id = [...room.participants.values()].find((x) => x.displayName === name)!.id;
  for (const who of Object.keys(pages) as (keyof typeof pages)[]) {
    await expect.poll(() => tonesHeardBy(who), { timeout: 20_000 }).toEqual(expectedBy(who));
  }
}

it('resumes every page after the server side resets the signaling connections: nobody left or joined', async () => {
  const room = chorus.rooms.rooms.get('reset')!;
  const before = new Map(room.participants);
  await watchEveryPage();
  execFileSync('ss', ['-K', 'state', 'established', `( sport = :${port} )`], { stdio: 'ignore' });
  await expectEveryoneBack();
  // The same three participants (sessions), untouched.
  expect([...room.participants.entries()]).toEqual([...before.entries()]);
}, 90_000);

it('restarts ICE when a page finds itself on a new network: new ICE credentials on the server, and everyone still hears everyone', async () => {
  const room = chorus.rooms.rooms.get('reset')!;
  const a = room.participants.get(pages.a.id)!;
  const ufrags = () => [...a.transports.values()].map((t) => t.iceParameters.usernameFragment);
  const before = ufrags();
  await pages.a.page.evaluate(() => window.dispatchEvent(new Event('online')));
  await expect.poll(() => ufrags().every((u, i) => u !== before[i])).toBe(true);
  for (const who of Object.keys(pages) as (keyof typeof pages)[]) {
    await expect.poll(() => tonesHeardBy(who), { timeout: 20_000 }).toEqual(expectedBy(who));
  }
  // Still the same session: nobody left.
  expect(room.participants.get(pages.a.id)).toBe(a);
}, 90_000);

it("moves every page to the other worker when the room's worker is killed: the same participants, nobody left or joined", async () => {
  const room = chorus.rooms.rooms.get('reset')!;
  const victim = room.media;
  const before = new Map(room.participants);
  let left = 0;
  chorus.rooms.on('participantLeft', () => left++);
  await watchEveryPage();
  process.kill(victim.pid, 'SIGKILL');
  await expectEveryoneBack();
  expect(chorus.rooms.rooms.get('reset')).toBe(room);
  expect(room.media).not.toBe(victim);
  expect([...room.participants.entries()]).toEqual([...before.entries()]);
  expect(left).toBe(0);
}, 90_000);

it('rejoins every page when Chorus restarts', async () => {
  await watchEveryPage();
  await chorus.stop();
  chorus = await startTestChorus({ http: { port }, media: { workers: 2 } });
  await expectEveryoneBack();
}, 90_000);
