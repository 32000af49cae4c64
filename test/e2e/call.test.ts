// A three-way call in real browsers: each Chromium has a fake microphone
// playing its own tone; every page must hear the two others' tones (by
// frequency analysis of the audio the app plays) and never its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InRoom, hearing, joinRoomInBrowsers } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

const tones = [440, 660, 880] as const;
type Tone = (typeof tones)[number];

let chorus: TestChorus;
const people = new Map<Tone, InRoom>();

/** Which of our tones each remote stream on this page carries (loud enough to be heard). */
async function tonesHeardBy(tone: Tone): Promise<Tone[]> {
  const heard = await hearing(people.get(tone)!.page);
  return Object.values(heard)
    .filter(({ db }) => db > -60)
    .map(({ hz }) => tones.find((t) => Math.abs(t - hz) < 15))
    .filter((t): t is Tone => t !== undefined)
    .sort();
}

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last = await probe();
  while (!ok(last) && Date.now() < end) last = await probe();
  return last;
}

beforeAll(async () => {
  chorus = await startTestChorus();
  const joined = await joinRoomInBrowsers(chorus, 'e2e', tones.map((hz) => ({ name: `Tone${hz}`, hz })));
  for (const tone of tones) people.set(tone, joined[`Tone${tone}`]!);
}, 90_000);

afterAll(async () => {
  await Promise.all([...people.values()].map((p) => p.close()));
  await chorus?.stop();
});

describe('a three-way call in Chromium', () => {
  it('each participant hears the two others and not themselves', async () => {
    for (const tone of tones) {
      const others = tones.filter((t) => t !== tone);
      const heard = await eventually(
        () => tonesHeardBy(tone),
        (h) => h.join() === others.join(),
      );
      expect(heard, `Tone${tone} hears`).toEqual(others);
    }
    // The server forwards each participant exactly the others' producers.
    const room = chorus.rooms.rooms.get('e2e')!;
    for (const p of room.participants.values()) {
      const others = [...room.participants.values()].filter((o) => o !== p).map((o) => o.producer!.id);
      expect([...p.consumers.values()].map((c) => c.producerId).sort()).toEqual(others.sort());
    }
    // The participant lists agree.
    for (const p of people.values()) {
      await expect.poll(() => p.page.getByTestId('participant').count()).toBe(2);
    }
  });

  it('muting one participant silences their tone for the others, unmuting brings it back', async () => {
    const ada = people.get(440)!;
    await ada.page.getByTestId('mute').click();
    for (const tone of [660, 880] as const) {
      await expect
        .poll(() => people.get(tone)!.page.locator(`[data-participant-id="${ada.id}"][data-muted="true"]`).count())
        .toBe(1);
      const heard = await eventually(
        () => tonesHeardBy(tone),
        (h) => !h.includes(440),
      );
      expect(heard, `Tone${tone} hears after Tone440 muted`).toEqual(tones.filter((t) => t !== tone && t !== 440));
    }
    await ada.page.getByTestId('mute').click();
    const heard = await eventually(
      () => tonesHeardBy(660),
      (h) => h.includes(440),
    );
    expect(heard).toEqual([440, 880]);
  });

  it('when one leaves, the others see them gone', async () => {
    const cy = people.get(880)!;
    await cy.page.getByTestId('leave').click();
    for (const tone of [440, 660] as const) {
      const page = people.get(tone)!.page;
      await expect.poll(() => page.locator(`[data-participant-id="${cy.id}"]`).count()).toBe(0);
      await expect.poll(() => page.getByTestId('participant').count()).toBe(1);
    }
    // And the server has closed everything of theirs.
    const room = chorus.rooms.rooms.get('e2e')!;
    expect(room.participants.has(cy.id)).toBe(false);
    expect((await room.router.dump()).transportIds).toHaveLength(4);
  });
});
