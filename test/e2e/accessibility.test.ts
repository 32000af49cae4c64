// The join page and the call page in real Chromium: an axe-core scan finds no
// serious or critical violation, and screenshots at 1280 and 390 px wide are
// saved as test artifacts (test-results/screenshots/, not committed) with no
// sideways scrolling at either width.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type InRoom, joinRoomInBrowsers, launchParticipant, tempDir, toneWav } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const shots = path.resolve('test-results/screenshots');

let chorus: TestChorus;
let pages: Record<'moderator' | 'ada' | 'bob', InRoom>;

/** Serious and critical axe violations on the page, as "rule: targets" lines. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource); // DevTools evaluation: not subject to the page's script CSP
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return results
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function screenshotAt(page: Page, width: number, name: string): Promise<void> {
  await page.setViewportSize({ width, height: 900 });
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}-${width}.png`), fullPage: true });
  // Nothing sticks out sideways.
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
}

beforeAll(async () => {
  chorus = await startTestChorus({ metrics: { statsIntervalMs: 1000 } });
  pages = await joinRoomInBrowsers(chorus, 'standup', [
    { name: 'moderator', hz: 0 },
    { name: 'ada', hz: 440 },
    { name: 'bob', hz: 0 },
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(pages ?? {}).map((p) => p.close()));
  await chorus?.stop();
});

it('the join page has no serious or critical accessibility violations, and looks right at both widths', async () => {
  const visitor = await launchParticipant(toneWav(tempDir(), 0));
  try {
    await visitor.page.goto(`${chorus.url}/?room=standup`);
    await visitor.page.locator('form.join').waitFor();
    expect(await seriousViolations(visitor.page)).toEqual([]);
    for (const width of [1280, 390]) await screenshotAt(visitor.page, width, 'join');
  } finally {
    await visitor.close();
  }
});

it('the call page (as moderator, a hand raised, stats open) has none either, and looks right at both widths', async () => {
  const { page } = pages.moderator;
  await pages.bob.page.getByTestId('raise-hand').click();
  await page.locator(`li[data-participant-id="${pages.bob.id}"]`).getByTestId('hand').waitFor();
  await expect.poll(() => page.locator('[data-testid="quality"][data-level="measuring"]').count(), { timeout: 15_000 }).toBe(0);
  await page.getByTestId('chat-input').fill('Morning all');
  await page.getByTestId('chat-send').click();
  expect(await seriousViolations(page)).toEqual([]);
  for (const width of [1280, 390]) await screenshotAt(page, width, 'call');
  await page.getByTestId('stats-toggle').click();
  await page.getByText('Audio settings').click();
  expect(await seriousViolations(page)).toEqual([]);
  for (const width of [1280, 390]) await screenshotAt(page, width, 'call-stats');
  // Every control is reachable with Tab, and shows where the focus is.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.locator('h1').click();
  const reached = new Set<string>();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { id: el.dataset.testid ?? el.tagName, outline: getComputedStyle(el).outlineStyle };
    });
    reached.add(focused.id);
    if (focused.id !== 'BODY') expect(focused.outline, `${focused.id} shows focus`).not.toBe('none');
  }
  for (const id of ['copy-link', 'mute', 'raise-hand', 'mic-select', 'stats-toggle', 'leave', 'volume', 'lower-hand', 'force-mute', 'remove', 'chat-input']) {
    expect(reached, id).toContain(id);
  }
});
