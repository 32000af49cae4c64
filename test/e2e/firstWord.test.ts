// First words are not clipped, in real browsers: one page's fake microphone
// plays 500 ms tone bursts separated by 3 s of digital silence (longer than
// the 1.5 s hold, so each burst starts from Opus DTX); with the default K = 3
// and a slot free, the two other pages must receive each burst whole.
//
// The received duration is measured in audio time by an AudioWorklet on the
// played stream (RMS per 128-sample block, so no JS timer jitter): from the
// first loud block to the last of a burst.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type InRoom, joinRoomInBrowsers, launchParticipant, tempDir, toneWav } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';

const BURST_MS = 500;
const SILENCE_MS = 3000;
/** One Opus packet: the most a received burst may differ from the sent one. */
const PACKET_MS = 20;
const TOLERANCE_MS = 2 * PACKET_MS;

let chorus: TestChorus;
let pages: InRoom[] = [];

/** Silence, then a burst of 660 Hz, then silence; Chromium loops the file. */
function burstWav(dir: string): string {
  const file = path.join(dir, 'bursts.wav');
  const pad = [String(SILENCE_MS / 2000), String(SILENCE_MS / 2000)];
  execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', file, 'synth', String(BURST_MS / 1000), 'sine', '660', 'vol', '0.5', 'pad', ...pad]);
  return file;
}

const METER = `const BURST_MS = ${BURST_MS};
class BurstMeter extends AudioWorkletProcessor {
  constructor() { super(); this.first = -1; this.start = -1; this.lastLoud = 0; this.partial = false; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    let sum = 0;
    for (let i = 0; i < ch.length; i++) sum += ch[i] * ch[i];
    const loud = Math.sqrt(sum / ch.length) > 0.03;
    if (this.first < 0) this.first = currentFrame;
    if (loud) {
      // A burst heard within a burst's length (+100 ms) of the start may have begun before we listened.
      if (this.start < 0) { this.start = currentFrame; this.partial = currentFrame - this.first < (BURST_MS + 100) / 1000 * sampleRate; }
      this.lastLoud = currentFrame + ch.length;
    } else if (this.start >= 0 && currentFrame - this.lastLoud > 0.1 * sampleRate) {
      this.port.postMessage({ ms: ((this.lastLoud - this.start) / sampleRate) * 1000, partial: this.partial });
      this.start = -1;
    }
    return true;
  }
}
registerProcessor('burst-meter', BurstMeter);
`;

/** Starts measuring the bursts this page plays from participant `from`; they collect in window.__bursts. */
async function meterBursts(page: Page, from: string): Promise<void> {
  await page.evaluate(
    async ({ from, code }) => {
      const el = document.querySelector<HTMLAudioElement>(`audio[data-testid="remote-audio"][data-participant-id="${from}"]`)!;
      const ctx = new AudioContext();
      await ctx.resume();
      await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([code], { type: 'application/javascript' })));
      const meter = new AudioWorkletNode(ctx, 'burst-meter');
      const w = window as unknown as { __bursts: { ms: number; partial: boolean }[]; __meter: AudioWorkletNode };
      w.__bursts = [];
      w.__meter = meter; // keep it alive
      meter.port.onmessage = (e) => w.__bursts.push(e.data);
      ctx.createMediaStreamSource(el.srcObject as MediaStream).connect(meter);
      meter.connect(ctx.destination);
    },
    { from, code: METER },
  );
}

const bursts = (page: Page) =>
  page.evaluate(() => (window as unknown as { __bursts: { ms: number; partial: boolean }[] }).__bursts.filter((b) => !b.partial).map((b) => b.ms));

beforeAll(async () => {
  chorus = await startTestChorus(); // default K = 3, hold 1500 ms
  const dir = tempDir();
  // The page with the bursts joins first, by hand (joinRoomInBrowsers plays tones), then two silent listeners.
  const talker = await launchParticipant(burstWav(dir));
  await talker.page.goto(`${chorus.url}/?room=first-word&name=Bursts`);
  await talker.page.locator('[data-testid="call"][data-phase="joined"]').waitFor();
  const id = [...chorus.rooms.rooms.get('first-word')!.participants.values()].find((p) => p.displayName === 'Bursts')!.id;
  pages.push({ ...talker, id });
  toneWav(dir, 0);
  // The listeners' burst meter is an AudioWorklet loaded from a blob: URL, which Chorus's CSP refuses.
  const listeners = await joinRoomInBrowsers(
    chorus,
    'first-word',
    [
      { name: 'L1', hz: 0 },
      { name: 'L2', hz: 0 },
    ],
    { bypassCSP: true },
  );
  pages.push(listeners.L1, listeners.L2);
}, 90_000);

afterAll(async () => {
  await Promise.all(pages.map((p) => p.close()));
  await chorus?.stop();
});

it(`delivers every ${BURST_MS} ms burst that starts after ${SILENCE_MS} ms of silence whole, to every listener`, async () => {
  const [talker, ...listeners] = pages;
  for (const l of listeners) {
    await l!.page.locator(`audio[data-participant-id="${talker!.id}"]`).waitFor({ state: 'attached' });
    await meterBursts(l!.page, talker!.id);
  }
  // Three whole bursts each (a burst cycle is 3.5 s).
  for (const l of listeners) await expect.poll(() => bursts(l!.page).then((b) => b.length), { timeout: 20_000, interval: 500 }).toBeGreaterThanOrEqual(3);
  for (const [i, l] of listeners.entries()) {
    const received = await bursts(l!.page);
    for (const ms of received) expect(Math.abs(ms - BURST_MS), `listener ${i + 1} received bursts of ${received.map(Math.round).join(', ')} ms`).toBeLessThanOrEqual(TOLERANCE_MS);
  }
}, 60_000);
