// A three-way call in real browsers: each Chromium has a fake microphone
// playing its own tone; every page must play exactly one element per other
// participant, each carrying that participant's tone (frequency analysis) and
// actually playing, and never its own voice.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type InRoom, cspViolations, eventually, joinRoomInBrowsers, tonesPlayed } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

const tones = [440, 660, 880] as const;
type Tone = (typeof tones)[number];

let chorus: TestChorus;
const people = new Map<Tone, InRoom>();

const heardBy = (tone: Tone) => tonesPlayed(people.get(tone)!.page, tones);

/** What page `tone` should play: one element per other participant (but those in `absent`), each with that participant's tone. */
function expectedFor(tone: Tone, absent: Tone[] = []): Record<string, Tone> {
  return Object.fromEntries(tones.filter((t) => t !== tone && !absent.includes(t)).map((t) => [people.get(t)!.id, t]));
}

const withoutSilent = (h: Record<string, Tone | null>) => Object.fromEntries(Object.entries(h).filter(([, t]) => t !== null));
const same = (a: object, b: object) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

beforeAll(async () => {
  chorus = await startTestChorus();
  const joined = await joinRoomInBrowsers(chorus, 'e2e', tones.map((hz) => ({ name: `Tone${hz}`, hz })));
  for (const tone of tones) people.set(tone, joined[`Tone${tone}`]!);
}, 90_000);

// Nobody is ever sent their own voice: no consumer of one's own producer on the
// server, and no remote element of one's own on the page, after every test.
afterEach(async () => {
  const room = chorus.rooms.rooms.get('e2e')!;
  for (const p of room.participants.values()) {
    expect([...p.consumers.values()].map((c) => c.producerId), `${p.displayName}'s consumers`).not.toContain(p.producer!.id);
  }
  for (const p of people.values()) {
    if (!room.participants.has(p.id)) continue;
    expect(await p.page.locator(`audio[data-testid="remote-audio"][data-participant-id="${p.id}"]`).count()).toBe(0);
  }
  // The page runs entirely within Chorus's Content-Security-Policy.
  for (const p of people.values()) expect(await cspViolations(p.page), 'CSP violations').toEqual([]);
});

afterAll(async () => {
  await Promise.all([...people.values()].map((p) => p.close()));
  await chorus?.stop();
});

describe('a three-way call in Chromium', () => {
  it('each participant hears the two others and not themselves', async () => {
    for (const tone of tones) {
      // Exactly two playing elements, each carrying the tone of the participant it is labelled with.
      const heard = await eventually(
        () => heardBy(tone),
        (h) => same(h, expectedFor(tone)),
      );
      expect(heard, `Tone${tone} plays`).toEqual(expectedFor(tone));
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
      // Ada's element (if still there) plays nothing; the other one still plays its tone.
      const heard = await eventually(
        () => heardBy(tone),
        (h) => same(withoutSilent(h), expectedFor(tone, [440])),
      );
      expect(withoutSilent(heard), `Tone${tone} plays after Tone440 muted`).toEqual(expectedFor(tone, [440]));
    }
    await ada.page.getByTestId('mute').click();
    for (const tone of [660, 880] as const) {
      const heard = await eventually(
        () => heardBy(tone),
        (h) => same(h, expectedFor(tone)),
      );
      expect(heard, `Tone${tone} plays after Tone440 unmuted`).toEqual(expectedFor(tone));
    }
  });

  it('when one leaves, the others see them gone and no longer play their voice', async () => {
    const cy = people.get(880)!;
    await cy.page.getByTestId('leave').click();
    for (const tone of [440, 660] as const) {
      const page = people.get(tone)!.page;
      await expect.poll(() => page.locator(`[data-participant-id="${cy.id}"]`).count()).toBe(0);
      await expect.poll(() => page.getByTestId('participant').count()).toBe(1);
    }
    // Their voice is gone from the others' pages; each other still plays exactly the remaining one.
    for (const tone of [440, 660] as const) {
      const heard = await eventually(
        () => heardBy(tone),
        (h) => same(h, expectedFor(tone, [880])),
      );
      expect(heard, `Tone${tone} plays after Tone880 left`).toEqual(expectedFor(tone, [880]));
    }
    // And the server has closed everything of theirs.
    const room = chorus.rooms.rooms.get('e2e')!;
    expect(room.participants.has(cy.id)).toBe(false);
    expect((await room.router.dump()).transportIds).toHaveLength(4);
  });
});
