// Audio controls in real Chromium: a person's volume at 0 silences them on this
// page only (WebAudio frequency analysis); "you are muted" when the microphone
// hears speech while muted; a microphone that goes away (its track stopped, as
// an unplug ends it) is replaced by the default one with a notice, and the
// others hear it again; processing switches reopen the microphone and are
// remembered.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { type InRoom, hearsTone, joinRoomInBrowsers } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

let chorus: TestChorus;
let pages: Record<'ada' | 'bob' | 'cy', InRoom>;

/** Records every microphone stream the page opens (window.__mics), so the test can end one as an unplug would. */
async function recordMicrophones(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __mics: MediaStream[] };
    w.__mics = [];
    const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      const stream = await original(constraints);
      w.__mics.push(stream);
      return stream;
    };
  });
}

const latestMic = (page: Page) =>
  page.evaluate(() => {
    const mics = (window as unknown as { __mics: MediaStream[] }).__mics;
    const t = mics.at(-1)!.getAudioTracks()[0]!;
    return { count: mics.length, state: t.readyState, echoCancellation: t.getSettings().echoCancellation };
  });

beforeAll(async () => {
  chorus = await startTestChorus();
  pages = await joinRoomInBrowsers(
    chorus,
    'audio',
    [
      { name: 'ada', hz: 440 },
      { name: 'bob', hz: 660 },
      { name: 'cy', hz: 880 },
    ],
    { beforeJoin: (page) => recordMicrophones(page) },
  );
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(pages ?? {}).map((p) => p.close()));
  await chorus?.stop();
});

it("silences one person on this page only when their volume is 0, and brings them back at 100 %", async () => {
  const { ada, bob, cy } = pages;
  await expect.poll(() => hearsTone(ada.page, bob.id, 660), { timeout: 15_000 }).toBe(true);
  const bobVolume = ada.page.locator(`li[data-participant-id="${bob.id}"]`).getByRole('slider', { name: 'Volume of bob' });
  await bobVolume.fill('0');
  await expect.poll(() => hearsTone(ada.page, bob.id, 660), { timeout: 15_000 }).toBe(false);
  // Ada still hears Cy; Cy still hears Bob.
  expect(await hearsTone(ada.page, cy.id, 880)).toBe(true);
  expect(await hearsTone(cy.page, bob.id, 660)).toBe(true);
  await bobVolume.fill('100');
  await expect.poll(() => hearsTone(ada.page, bob.id, 660), { timeout: 15_000 }).toBe(true);
});

it('says "you are muted" while the microphone hears speech during a mute, and not after unmuting', async () => {
  const { page } = pages.cy;
  expect(await page.getByTestId('muted-hint').count()).toBe(0);
  await page.getByTestId('mute').click();
  await expect.poll(() => page.getByTestId('muted-hint').count(), { timeout: 10_000 }).toBe(1);
  expect(await page.getByTestId('muted-hint').textContent()).toMatch(/You are muted. Press M to unmute/);
  await page.getByTestId('mute').click();
  await expect.poll(() => page.getByTestId('muted-hint').count()).toBe(0);
});

it('falls back to the default microphone with a notice when the one in use goes away, and is heard again', async () => {
  const { ada, bob } = pages;
  await expect.poll(() => hearsTone(ada.page, bob.id, 660), { timeout: 15_000 }).toBe(true);
  const before = await latestMic(bob.page);
  // What unplugging does to the track: it ends.
  await bob.page.evaluate(() => (window as unknown as { __mics: MediaStream[] }).__mics.at(-1)!.getAudioTracks()[0]!.stop());
  await expect.poll(() => bob.page.getByTestId('mic-notice').textContent(), { timeout: 10_000 }).toMatch(/default microphone/);
  const after = await latestMic(bob.page);
  expect(after.count).toBe(before.count + 1);
  expect(after.state).toBe('live');
  // Bob is heard again, through the fallback, with no click on his side.
  await expect.poll(() => hearsTone(ada.page, bob.id, 660), { timeout: 15_000 }).toBe(true);
  expect(await bob.page.getByTestId('mute').getAttribute('aria-pressed')).toBe('false');
});

it('reopens the microphone without echo cancellation when switched off, and remembers it', async () => {
  const { page } = pages.ada;
  await page.getByText('Audio settings').click();
  const before = await latestMic(page);
  await page.getByRole('checkbox', { name: 'Echo cancellation' }).uncheck();
  await expect.poll(async () => (await latestMic(page)).count).toBe(before.count + 1);
  expect((await latestMic(page)).echoCancellation).toBe(false);
  expect(JSON.parse((await page.evaluate(() => localStorage.getItem('chorus.audioSettings')))!)).toMatchObject({ echoCancellation: false });
  await expect.poll(() => hearsTone(pages.bob.page, pages.ada.id, 440), { timeout: 15_000 }).toBe(true);
});
