// Connection quality in real Chromium: every row shows an indicator; when one
// page's media path loses packets (a UDP relay dropping 30 %) it turns poor,
// and when the path is cut it turns lost, both on that page (its own
// getStats) and on the other page (the server's view, connectionQuality);
// after the path is back, nobody is lost. The stats panel shows a remote
// stream's bitrate.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { type InRoom, joinRoomInBrowsers } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { freePort } from '../support/freePort.ts';
import { UdpRelay, routeMediaThrough } from '../support/udpRelay.ts';

let chorus: TestChorus;
let relay: UdpRelay;
let pages: Record<'steady' | 'shaky', InRoom>;

beforeAll(async () => {
  const rtcPort = await freePort();
  // Quality is reported once per stats round: every second here.
  chorus = await startTestChorus({ media: { rtcPortBase: rtcPort }, metrics: { statsIntervalMs: 1000 } });
  relay = await UdpRelay.start({ host: '127.0.0.1', port: rtcPort });
  pages = await joinRoomInBrowsers(
    chorus,
    'quality',
    [
      { name: 'steady', hz: 440 },
      { name: 'shaky', hz: 660 },
    ],
    { beforeJoin: (page, name) => (name === 'shaky' ? routeMediaThrough(page, rtcPort, relay.port) : Promise.resolve()) },
  );
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(pages ?? {}).map((p) => p.close()));
  relay?.close();
  await chorus?.stop();
});

const selfLevel = (page: Page) => page.getByTestId('participant-self').getByTestId('quality').getAttribute('data-level');
const levelOf = (page: Page, id: string) => page.locator(`li[data-participant-id="${id}"]`).getByTestId('quality').getAttribute('data-level');
const fine = ['excellent', 'good'];

it('shows a connection quality indicator with an accessible name on every row, good on a clean path', async () => {
  for (const { page } of Object.values(pages)) {
    const indicators = page.getByRole('img', { name: /connection quality: (excellent|good|poor|lost|measuring)/ });
    await expect.poll(() => indicators.count()).toBe(2);
  }
  await expect.poll(() => selfLevel(pages.shaky.page), { timeout: 10_000 }).toMatch(/excellent|good/);
  await expect.poll(() => levelOf(pages.steady.page, pages.shaky.id), { timeout: 10_000 }).toMatch(/excellent|good/);
  await expect.poll(() => levelOf(pages.shaky.page, pages.steady.id), { timeout: 10_000 }).toMatch(/excellent|good/);
});

it("shows a remote stream's bitrate, codec and the candidate pair in the stats panel", async () => {
  const { page } = pages.steady;
  await page.getByTestId('stats-toggle').click();
  const remote = page.getByTestId('stats-track-in');
  await expect.poll(() => remote.count()).toBeGreaterThan(0);
  await expect.poll(async () => Number(await remote.first().getAttribute('data-bitrate')), { timeout: 10_000 }).toBeGreaterThan(0);
  expect(await remote.first().textContent()).toMatch(/shaky.*opus\/48000/);
  expect(await page.getByTestId('stats-transport-recv').textContent()).toMatch(/connected.*host → host, UDP/);
  await page.getByTestId('stats-toggle').click();
  expect(await page.getByTestId('stats-panel').count()).toBe(0);
});

it('turns poor when a third of the packets are lost, then lost when the path is cut, on both pages; back once it returns', async () => {
  const { steady, shaky } = pages;
  relay.lossRatio = 0.3;
  await expect.poll(() => selfLevel(shaky.page), { timeout: 15_000 }).toBe('poor');
  await expect.poll(() => levelOf(steady.page, shaky.id), { timeout: 15_000 }).toBe('poor');
  // The loss is the shaky page's: the steady one is not blamed for the gaps it receives.
  expect(fine).toContain(await selfLevel(steady.page));
  expect(fine).toContain(await levelOf(shaky.page, steady.id));

  relay.lossRatio = 1;
  await expect.poll(() => selfLevel(shaky.page), { timeout: 15_000 }).toBe('lost');
  await expect.poll(() => levelOf(steady.page, shaky.id), { timeout: 15_000 }).toBe('lost');
  // The steady page's own link is fine, and the shaky page (its signaling still up) is told so.
  expect(fine).toContain(await selfLevel(steady.page));
  expect(fine).toContain(await levelOf(shaky.page, steady.id));
  expect(await shaky.page.getByRole('img', { name: 'connection quality: lost' }).count()).toBe(1);

  relay.lossRatio = 0;
  await expect.poll(() => selfLevel(shaky.page), { timeout: 30_000 }).toMatch(/excellent|good/);
  // Nobody on the steady page is lost any more (the shaky page may have rejoined as a new participant).
  await expect
    .poll(async () => (await steady.page.getByTestId('quality').evaluateAll((els) => els.map((e) => e.getAttribute('data-level')))).filter((l) => !fine.includes(l!)), {
      timeout: 30_000,
    })
    .toEqual([]);
});
