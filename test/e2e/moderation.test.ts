// A moderator page force-mutes a speaker: the other page stops hearing that
// speaker's tone, and the speaker's page shows it and cannot unmute.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrowserParticipant, hearing, launchParticipant, tempDir, toneWav } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

let chorus: TestChorus;
const pages = {} as Record<'moderator' | 'speaker' | 'listener', BrowserParticipant & { id: string }>;

beforeAll(async () => {
  chorus = await startTestChorus();
  const dir = tempDir();
  for (const [name, hz, role] of [
    ['speaker', 660, 'speaker'],
    ['listener', 0, 'speaker'],
    ['moderator', 0, 'moderator'],
  ] as const) {
    const p = await launchParticipant(toneWav(dir, hz));
    await p.page.goto(`${chorus.url}/?room=moderated&name=${name}&role=${role}`);
    await p.page.locator('[data-testid="call"][data-phase="joined"]').waitFor();
    await p.page.locator('h1').click(); // a user gesture, so audio plays
    const room = chorus.rooms.rooms.get('moderated')!;
    pages[name] = { ...p, id: [...room.participants.values()].find((x) => x.displayName === name)!.id };
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(pages).map((p) => p.close()));
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
