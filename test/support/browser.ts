// Real Chromium participants for end-to-end tests. Each participant is its own
// browser process, because the fake microphone file is set per process.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import type { TestChorus } from './chorus.ts';

const executablePath = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => fs.existsSync(p));

/** A WAV of a pure tone (hz = 0: silence), made with sox: the participant's fake microphone. */
export function toneWav(dir: string, hz: number, seconds = 30): string {
  const file = path.join(dir, `tone${hz}.wav`);
  if (!fs.existsSync(file)) {
    const volume = hz === 0 ? '0' : '0.5';
    execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', file, 'synth', String(seconds), 'sine', String(hz || 440), 'vol', volume]);
  }
  return file;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-e2e-'));
}

export interface BrowserParticipant {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/**
 * Launches a browser whose fake microphone plays `micWav`; with `micWav`
 * undefined, the user denies microphone access instead.
 */
export async function launchParticipant(
  micWav: string | undefined,
  extraArgs: string[] = [],
  { bypassCSP = false, executable = executablePath }: { bypassCSP?: boolean; executable?: string } = {},
): Promise<BrowserParticipant> {
  if (!executablePath) throw new Error('Chromium is not installed: run npm run setup:test');
  const microphone = micWav
    ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${micWav}`]
    : ['--use-fake-device-for-media-stream', '--deny-permission-prompts'];
  const browser = await chromium.launch({
    // executable: e.g. a wrapper that runs Chromium in another network namespace.
    executablePath: executable,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...microphone,
      '--allow-loopback-in-peer-connection',
      ...extraArgs,
    ],
  });
  // bypassCSP: only for a test that loads its own instruments into the page (a blob: AudioWorklet),
  // which the server's Content-Security-Policy (script-src 'self') refuses, as it should.
  const page = await browser.newPage({ bypassCSP });
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  // Anything the server's Content-Security-Policy blocks is recorded (see cspViolations).
  await page.addInitScript(() => {
    const w = window as unknown as { __cspViolations: string[] };
    w.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { browser, page, close: () => browser.close() };
}

/** What the page's Content-Security-Policy blocked so far (directive and URI), since it loaded. */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []);
}

/** What one remote <audio> element plays. */
export interface Heard {
  /** Loudest frequency (Hz) of what the element plays, and its level (dB). */
  hz: number;
  db: number;
  /** The element is really playing: not paused, not muted, volume above 0, its track live and enabled, and its clock advanced while we listened. */
  playing: boolean;
}

/**
 * What this page hears: for each remote <audio> element the app plays, the
 * loudest frequency (Hz) and its level (dB), measured with WebAudio over ~1.5 s,
 * and whether the element is actually playing it (a stream carrying a tone is
 * not heard if its element is paused, muted or stalled). Keyed by the
 * participant id the element belongs to.
 */
export async function hearing(page: Page): Promise<Record<string, Heard>> {
  return page.evaluate(async () => {
    const w = window as unknown as { __probeCtx?: AudioContext };
    const ctx = (w.__probeCtx ??= new AudioContext());
    await ctx.resume();
    const probes = [...document.querySelectorAll<HTMLAudioElement>('audio[data-testid="remote-audio"]')].map((el) => {
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      analyser.smoothingTimeConstant = 0.8;
      ctx.createMediaStreamSource(el.srcObject as MediaStream).connect(analyser);
      return { id: el.dataset.participantId!, el, analyser, startedAt: el.currentTime };
    });
    await new Promise((r) => setTimeout(r, 1500));
    const out: Record<string, { hz: number; db: number; playing: boolean }> = {};
    for (const { id, el, analyser, startedAt } of probes) {
      const bins = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(bins);
      let best = 0;
      for (let i = 1; i < bins.length; i++) if (bins[i]! > bins[best]!) best = i;
      const track = (el.srcObject as MediaStream | null)?.getAudioTracks()[0];
      const playing =
        !el.paused &&
        !el.muted &&
        el.volume > 0 &&
        el.currentTime - startedAt > 0.5 &&
        track?.readyState === 'live' &&
        track.enabled;
      out[id] = { hz: (best * ctx.sampleRate) / analyser.fftSize, db: bins[best]!, playing };
    }
    return out;
  });
}

export interface InRoom extends BrowserParticipant {
  /** The participant id the server gave this page. */
  id: string;
}

/**
 * Where pages open a room: a base URL, and how to learn the participant id the
 * server gave a person (a Chorus of the test's own is asked directly; cluster
 * nodes, separate processes, through their admin API).
 */
export interface CallSite {
  url: string;
  participantId(room: string, name: string): Promise<string>;
}

const siteOf = (c: TestChorus | CallSite): CallSite =>
  'rooms' in c
    ? { url: c.url, participantId: async (room, name) => [...c.rooms.rooms.get(room)!.participants.values()].find((x) => x.displayName === name)!.id }
    : c;

/**
 * Opens one browser per person, each joining `room` by URL as a shared link
 * does (dev-mode token), with a fake microphone playing `hz` (0 = silence),
 * from the site's URL or the person's own `url` (another cluster node's page).
 * Each page then gets a click, as a person would give it: on "enable audio"
 * when autoplay is blocked, else anywhere; it also lets the test's own
 * AudioContext start. Pages join one after another, so the first one is the
 * room's moderator (dev tokens: the first person in an empty room).
 */
export async function joinRoomInBrowsers<Name extends string>(
  chorus: TestChorus | CallSite,
  room: string,
  people: readonly { name: Name; hz: number; role?: 'speaker' | 'listener'; url?: string }[],
  {
    bypassCSP = false,
    extraArgs = [],
    beforeJoin,
  }: { bypassCSP?: boolean; extraArgs?: string[]; beforeJoin?(page: Page, name: Name): Promise<void> } = {},
): Promise<Record<Name, InRoom>> {
  const site = siteOf(chorus);
  const dir = tempDir();
  const joined = {} as Record<Name, InRoom>;
  for (const { name, hz, role, url = site.url } of people) {
    const p = await launchParticipant(toneWav(dir, hz), extraArgs, { bypassCSP });
    await beforeJoin?.(p.page, name);
    await p.page.goto(`${url}/?room=${room}&name=${name}${role ? `&role=${role}` : ''}`);
    await p.page
      .locator('[data-testid="call"][data-phase="joined"]')
      .waitFor()
      .catch(async (err: Error) => {
        // Say what the page says, and what its Content-Security-Policy blocked.
        const shown = await p.page.getByRole('alert').allInnerTexts().catch(() => []);
        throw new Error(`${name} did not join at ${url}: ${err.message.split('\n')[0]}; the page shows ${JSON.stringify(shown)}; CSP blocked ${JSON.stringify(await cspViolations(p.page).catch(() => []))}`);
      });
    const enable = p.page.getByTestId('enable-audio');
    await ((await enable.isVisible()) ? enable.click() : p.page.locator('h1').click());
    joined[name] = { ...p, id: await site.participantId(room, name) };
  }
  return joined;
}

/** The page records, from now on, whether it ever shows "Reconnecting…" (it may show it only briefly); see sawReconnecting. */
export async function watchReconnecting(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __sawReconnecting?: boolean; __watch?: MutationObserver };
    w.__sawReconnecting = false;
    w.__watch?.disconnect();
    w.__watch = new MutationObserver(() => {
      if (document.querySelector('[data-testid="reconnecting"]')) w.__sawReconnecting = true;
    });
    w.__watch.observe(document.body, { subtree: true, childList: true });
  });
}

/** Whether the page showed "Reconnecting…" since watchReconnecting. */
export function sawReconnecting(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __sawReconnecting?: boolean }).__sawReconnecting === true);
}

/**
 * What this page plays, element by element: the participant id each remote
 * <audio> element belongs to → which of `tones` it carries (null when it plays
 * none of them loud enough, or is not actually playing).
 */
export async function tonesPlayed<Tone extends number>(page: Page, tones: readonly Tone[]): Promise<Record<string, Tone | null>> {
  const heard = await hearing(page);
  return Object.fromEntries(
    Object.entries(heard).map(([id, h]) => [id, h.playing && h.db > -60 ? (tones.find((t) => Math.abs(t - h.hz) < 15) ?? null) : null]),
  );
}

/** Probes until `ok` (or `ms` have passed) and returns the last value, for an expect that then says what it was. */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last = await probe();
  while (!ok(last) && Date.now() < end) last = await probe();
  return last;
}

/** Whether `page` plays `hz` (±15 Hz, above -60 dB) from the element of participant `from`. */
export async function hearsTone(page: Page, from: string, hz: number): Promise<boolean> {
  const h = (await hearing(page))[from];
  return !!h && h.playing && h.db > -60 && Math.abs(h.hz - hz) < 15;
}
