// The speaking highlight in real browsers follows the page whose fake
// microphone plays a tone, and goes when that page mutes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type InRoom, joinRoomInBrowsers } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

let chorus: TestChorus;
let pages: Record<'loud' | 'quiet' | 'watcher', InRoom>;

beforeAll(async () => {
  chorus = await startTestChorus();
  pages = await joinRoomInBrowsers(chorus, 'speakers', [
    { name: 'loud', hz: 440 },
    { name: 'quiet', hz: 0 },
    { name: 'watcher', hz: 0 },
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(pages ?? {}).map((p) => p.close()));
  await chorus?.stop();
});

const speakingOn = (viewer: 'loud' | 'quiet' | 'watcher', who: 'loud' | 'quiet') =>
  pages[viewer].page.locator(`li[data-participant-id="${pages[who].id}"]`).getAttribute('data-speaking');

it('highlights the participant whose microphone plays a tone, on every other page, and not the silent one', async () => {
  await expect.poll(() => speakingOn('watcher', 'loud'), { timeout: 10_000 }).toBe('true');
  await expect.poll(() => speakingOn('quiet', 'loud'), { timeout: 10_000 }).toBe('true');
  expect(await speakingOn('watcher', 'quiet')).toBe('false');
  // The speaker sees themselves speaking, and is the dominant speaker for the others.
  await expect.poll(() => pages.loud.page.getByTestId('participant-self').getAttribute('data-speaking')).toBe('true');
  await expect
    .poll(() => pages.watcher.page.locator(`[data-participant-id="${pages.loud.id}"] .dominant`).count(), { timeout: 10_000 })
    .toBe(1);
});

it('drops the highlight when the speaker mutes and brings it back on unmute', async () => {
  await pages.loud.page.getByTestId('mute').click();
  await expect.poll(() => speakingOn('watcher', 'loud'), { timeout: 10_000 }).toBe('false');
  await pages.loud.page.getByTestId('mute').click();
  await expect.poll(() => speakingOn('watcher', 'loud'), { timeout: 10_000 }).toBe('true');
});

it('shows a chat message typed on one page on the others, with its sender', async () => {
  await pages.quiet.page.getByTestId('chat-input').fill('can you hear me?');
  await pages.quiet.page.getByTestId('chat-send').click();
  for (const viewer of ['loud', 'watcher', 'quiet'] as const) {
    await expect
      .poll(() => pages[viewer].page.getByTestId('chat-message').last().textContent())
      .toMatch(/quiet: can you hear me\?/);
  }
  expect(await pages.quiet.page.getByTestId('chat-input').inputValue()).toBe('');
});
