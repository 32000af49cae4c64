// A moderator page force-mutes a speaker: the other page stops hearing that
// speaker's tone, and the speaker's page shows it and cannot unmute.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type InRoom, hearing, joinRoomInBrowsers } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

let chorus: TestChorus;
let pages: Record<'moderator' | 'speaker' | 'listener', InRoom>;

beforeAll(async () => {
  chorus = await startTestChorus();
  // Nobody can ask for moderator: on a dev-mode server the first page in the
  // empty room gets it (sfu/http/devTokens.ts), the pages after it do not.
  pages = await joinRoomInBrowsers(chorus, 'moderated', [
    { name: 'moderator', hz: 0 },
    { name: 'speaker', hz: 660 },
    { name: 'listener', hz: 0 },
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(pages ?? {}).map((p) => p.close()));
  await chorus?.stop();
});

/** Whether `who`'s 660 Hz tone is in what the listener page plays. */
async function listenerHearsSpeaker(): Promise<boolean> {
  const heard = await hearing(pages.listener.page);
  const s = heard[pages.speaker.id];
  return !!s && s.db > -60 && Math.abs(s.hz - 660) < 15;
}

it('only the moderator gets moderation buttons', async () => {
  await expect.poll(() => pages.moderator.page.getByTestId('force-mute').count()).toBe(2);
  expect(await pages.listener.page.getByTestId('force-mute').count()).toBe(0);
  expect(await pages.speaker.page.getByTestId('remove').count()).toBe(0);
});

it("silences the speaker for the others when the moderator mutes them, and locks the speaker's unmute", async () => {
  await expect.poll(listenerHearsSpeaker, { timeout: 15_000 }).toBe(true);
  await pages.moderator.page.locator(`li[data-participant-id="${pages.speaker.id}"]`).getByTestId('force-mute').click();

  await expect.poll(listenerHearsSpeaker, { timeout: 15_000 }).toBe(false);
  await expect
    .poll(() => pages.listener.page.locator(`li[data-participant-id="${pages.speaker.id}"]`).getAttribute('data-muted'))
    .toBe('true');
  await expect.poll(() => pages.speaker.page.getByTestId('force-muted').textContent()).toMatch(/A moderator muted you/);
  expect(await pages.speaker.page.getByTestId('mute').isDisabled()).toBe(true);
});

it('removes a participant, whose page says so', async () => {
  await pages.moderator.page.locator(`li[data-participant-id="${pages.listener.id}"]`).getByTestId('remove').click();
  await expect.poll(() => pages.listener.page.getByTestId('error').textContent()).toMatch(/moderator removed you/);
  await expect.poll(() => pages.speaker.page.locator(`li[data-participant-id="${pages.listener.id}"]`).count()).toBe(0);
});
