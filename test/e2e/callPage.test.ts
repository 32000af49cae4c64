// The call page's controls in real Chromium: the M shortcut mutes and unmutes
// (the other page stops and starts hearing the tone), Copy link puts the
// room's link on the clipboard (with the invitation token only for a page
// opened with one), a raised hand is seen by the others and lowered by the
// moderator.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type InRoom, hearsTone, joinRoomInBrowsers, launchParticipant, toneWav, tempDir } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

let chorus: TestChorus;
let pages: Record<'mod' | 'ada', InRoom>;

beforeAll(async () => {
  chorus = await startTestChorus();
  // The first page in the empty room is its moderator (dev tokens).
  pages = await joinRoomInBrowsers(chorus, 'page', [
    { name: 'mod', hz: 440 },
    { name: 'ada', hz: 660 },
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(pages ?? {}).map((p) => p.close()));
  await chorus?.stop();
});

it('mutes and unmutes with the M key, and the other page stops and starts hearing the tone', async () => {
  const { mod, ada } = pages;
  await expect.poll(() => hearsTone(mod.page, ada.id, 660), { timeout: 15_000 }).toBe(true);
  await ada.page.keyboard.press('m');
  expect(await ada.page.getByTestId('mute').getAttribute('aria-pressed')).toBe('true');
  await expect.poll(() => hearsTone(mod.page, ada.id, 660), { timeout: 15_000 }).toBe(false);
  // Typing an "m" in the chat is a letter, not a shortcut.
  await ada.page.getByTestId('chat-input').fill('');
  await ada.page.getByTestId('chat-input').press('m');
  expect(await ada.page.getByTestId('mute').getAttribute('aria-pressed')).toBe('true');
  await ada.page.locator('h1').click();
  await ada.page.keyboard.press('m');
  expect(await ada.page.getByTestId('mute').getAttribute('aria-pressed')).toBe('false');
  await expect.poll(() => hearsTone(mod.page, ada.id, 660), { timeout: 15_000 }).toBe(true);
});

it('shows the room in the title and copies the room link (no name, no token) to the clipboard', async () => {
  const { page } = pages.ada;
  expect(await page.title()).toBe('page · Chorus');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: chorus.url });
  const button = page.getByRole('button', { name: /link/i });
  await button.click();
  await expect.poll(() => page.getByText('Link copied').count()).toBe(1);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${chorus.url}/?room=page`);
});

it("copies an invitation page's link with its token (which left the address bar)", async () => {
  const token = await chorus.tokens.sign({ identity: 'guest', room: 'invited', displayName: 'Guest', role: 'speaker' }, 600);
  const guest = await launchParticipant(toneWav(tempDir(), 0));
  try {
    const { page } = guest;
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: chorus.url });
    await page.goto(`${chorus.url}/?room=invited&token=${token}`);
    await page.locator('[data-testid="call"][data-phase="joined"]').waitFor();
    expect(page.url()).toBe(`${chorus.url}/?room=invited`);
    await page.getByRole('button', { name: /link/i }).click();
    await expect.poll(() => page.getByText('Link copied').count()).toBe(1);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${chorus.url}/?room=invited&token=${token}`);
  } finally {
    await guest.close();
  }
});

it('shows a raised hand to the others, its place in line to the moderator, who lowers it', async () => {
  const { mod, ada } = pages;
  await ada.page.getByTestId('raise-hand').click();
  const adaRowOnMod = mod.page.locator(`li[data-participant-id="${ada.id}"]`);
  await expect.poll(() => adaRowOnMod.getByRole('img', { name: 'hand raised, number 1 in line' }).count()).toBe(1);
  expect(await ada.page.getByTestId('participant-self').getByTestId('hand').count()).toBe(1);
  // The raised hand is announced to screen readers.
  await expect.poll(() => mod.page.getByTestId('announcements').textContent()).toMatch(/ada raised a hand/);
  await adaRowOnMod.getByTestId('lower-hand').click();
  await expect.poll(() => ada.page.getByTestId('raise-hand').getAttribute('aria-pressed')).toBe('false');
  expect(await ada.page.getByTestId('participant-self').getByTestId('hand').count()).toBe(0);
  await expect.poll(() => adaRowOnMod.getByTestId('hand').count()).toBe(0);
  // Only a moderator has the button.
  expect(await ada.page.getByTestId('lower-hand').count()).toBe(0);
});
