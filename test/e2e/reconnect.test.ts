// A call in real browsers survives its signaling connections being reset by
// the server side (what a proxy restart or a NAT timeout does): every page
// says it is reconnecting, resumes without a click, and hears the others
// again; on the server nobody left or joined.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type InRoom, hearing, joinRoomInBrowsers } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

let chorus: TestChorus;
let pages: Record<'a' | 'b' | 'c', InRoom>;
const tones = { a: 440, b: 660, c: 880 } as const;

beforeAll(async () => {
  chorus = await startTestChorus();
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

it('resumes every page after the server side resets the signaling connections, with no click', async () => {
  const room = chorus.rooms.rooms.get('reset')!;
  const before = new Map(room.participants);
  // Each page records whether it ever showed "Reconnecting…" (it may show it only briefly).
  for (const p of Object.values(pages)) {
    await p.page.evaluate(() => {
      const w = window as unknown as { __sawReconnecting?: boolean };
      w.__sawReconnecting = false;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="reconnecting"]')) w.__sawReconnecting = true;
      }).observe(document.body, { subtree: true, childList: true });
    });
  }
  const port = new URL(chorus.url).port;
  execFileSync('ss', ['-K', 'state', 'established', `( sport = :${port} )`], { stdio: 'ignore' });

  for (const p of Object.values(pages)) {
    await expect.poll(() => p.page.evaluate(() => (window as unknown as { __sawReconnecting?: boolean }).__sawReconnecting)).toBe(true);
    // Back: the notice goes, the call is still on.
    await p.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 15_000 });
    expect(await p.page.locator('[data-testid="call"]').getAttribute('data-phase')).toBe('joined');
    expect(await p.page.getByTestId('error').count()).toBe(0);
  }
  // Nobody left or joined on the server: the same three participants.
  expect([...room.participants.entries()]).toEqual([...before.entries()]);
  // Every page hears the two others.
  for (const who of Object.keys(pages) as (keyof typeof pages)[]) {
    await expect.poll(() => tonesHeardBy(who), { timeout: 15_000 }).toEqual(expectedBy(who));
  }
}, 90_000);
