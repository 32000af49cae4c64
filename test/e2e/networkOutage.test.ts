// A call in real browsers survives one page losing its network, for 10 s and
// for 40 s, with nobody clicking anything. Page c runs its Chromium in a
// network namespace of this test's own, joined to the host by a veth pair;
// Chorus listens (HTTP and RTC) on the host side's address, which pages a and b
// reach from the root namespace. The outage is the host side of the veth taken
// down, then up: everything page c sends or receives (signaling and media) is
// lost meanwhile, and nothing tells either side. Afterwards every page hears
// the two others again; how long after the link came back is printed.
// Needs root (ip netns, ip link).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type InRoom, hearing, joinRoomInBrowsers, launchParticipant, sawReconnecting, tempDir, toneWav, watchReconnecting } from '../support/browser.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { freePort } from '../support/freePort.ts';

type Name = 'a' | 'b' | 'c';
const tones = { a: 440, b: 660, c: 880 } as const;
const room = 'outage';

// Unique per run: namespace, links and a private /30 (10.201.N.4k/30).
const tag = `${process.pid % 100_000}`;
const ns = `chorus-out-${tag}`;
const hostIf = `cho${tag}h`;
const nsIf = `cho${tag}n`;
const net = 4 * Math.floor(Math.random() * 63);
const third = 1 + Math.floor(Math.random() * 250);
const hostAddr = `10.201.${third}.${net + 1}`;
const nsAddr = `10.201.${third}.${net + 2}`;

let chorus: TestChorus;
let pages: Record<Name, InRoom>;
let dir: string;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

function removeNetwork(): void {
  for (const args of [['link', 'del', hostIf], ['netns', 'del', ns]]) {
    try {
      ip(...args);
    } catch {
      // not there (never made, or already gone)
    }
  }
}

beforeAll(async () => {
  removeNetwork();
  ip('netns', 'add', ns);
  ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
  ip('link', 'set', nsIf, 'netns', ns);
  ip('addr', 'add', `${hostAddr}/30`, 'dev', hostIf);
  ip('link', 'set', hostIf, 'up');
  ip('-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf);
  ip('-n', ns, 'link', 'set', nsIf, 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');

  const port = await freePort();
  chorus = await startTestChorus({
    http: { host: hostAddr, port },
    media: { listenIp: hostAddr, announcedAddress: hostAddr },
  });
  expect(chorus.url).toBe(`http://${hostAddr}:${port}`);

  // Pages a and b: the root namespace (the address stays reachable there while the veth is down).
  const ab = await joinRoomInBrowsers(chorus, room, [
    { name: 'a', hz: tones.a },
    { name: 'b', hz: tones.b },
  ], { extraArgs: [`--unsafely-treat-insecure-origin-as-secure=${chorus.url}`] });

  // Page c: Chromium inside the namespace.
  dir = tempDir();
  const wrapper = path.join(dir, 'chromium-in-netns');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} /usr/lib/chromium/chromium "$@"\n`, { mode: 0o755 });
  const c = await launchParticipant(toneWav(dir, tones.c), [`--unsafely-treat-insecure-origin-as-secure=${chorus.url}`], {
    executable: wrapper,
  });
  await c.page.goto(`${chorus.url}/?room=${room}&name=c`);
  await c.page.locator('[data-testid="call"][data-phase="joined"]').waitFor();
  const enable = c.page.getByTestId('enable-audio');
  await ((await enable.isVisible()) ? enable.click() : c.page.locator('h1').click());
  pages = { ...ab, c: { ...c, id: idOf('c') } };
}, 90_000);

afterAll(async () => {
  try {
    ip('link', 'set', hostIf, 'up');
  } catch {
    // gone already
  }
  await Promise.all(Object.values(pages ?? {}).map((p) => p.close().catch(() => {})));
  await chorus?.stop();
  removeNetwork();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** The current participant id of `name` (a page that rejoined has a new one). */
function idOf(name: Name): string {
  const participants = [...(chorus.rooms.rooms.get(room)?.participants.values() ?? [])];
  return participants.find((x) => x.displayName === name)?.id ?? `(${name} not in the room)`;
}

/** Which of the others' tones page `who` plays now (participant id → tone heard). */
async function tonesHeardBy(who: Name): Promise<Record<string, number>> {
  const heard = await hearing(pages[who].page);
  return Object.fromEntries(Object.entries(heard).flatMap(([id, h]) => (h.playing && h.db > -60 ? [[id, Math.round(h.hz / 10) * 10]] : [])));
}

function expectedBy(who: Name): Record<string, number> {
  return Object.fromEntries((Object.keys(tones) as Name[]).filter((o) => o !== who).map((o) => [idOf(o), tones[o]]));
}


/** Takes page c's network away for `seconds`, then measures when each page hears the two others again. */
async function outage(seconds: number): Promise<Record<Name, number>> {
  await watchReconnecting(pages.c.page);
  const idsBefore = { a: idOf('a'), b: idOf('b'), c: idOf('c') };
  ip('link', 'set', hostIf, 'down');
  const downAt = Date.now();
  // During the outage, a and b stop hearing c (its media cannot reach the server).
  await expect.poll(async () => Object.values(await tonesHeardBy('a')), { timeout: 10_000 }).not.toContain(tones.c);
  await new Promise((r) => setTimeout(r, downAt + seconds * 1000 - Date.now()));
  ip('link', 'set', hostIf, 'up');
  const upAt = Date.now();
  const deadline = upAt + 90_000;
  const recovered = {} as Record<Name, number>;
  await Promise.all(
    (Object.keys(pages) as Name[]).map(async (who) => {
      while (Date.now() < deadline) {
        const heard = await tonesHeardBy(who).catch(() => ({}));
        if (JSON.stringify(heard) === JSON.stringify(expectedBy(who)) && Object.keys(heard).length === 2) {
          // Heard by the end of this 1.5 s listening window (an upper bound).
          recovered[who] = Date.now() - upAt;
          return;
        }
      }
    }),
  );
  const cSession = idOf('c') === idsBefore.c ? 'resumed its session' : 'rejoined (new session)';
  const saw = await sawReconnecting(pages.c.page);
  console.log(
    `network outage ${seconds} s: each page heard both others again, after the link came back, by ` +
      (Object.keys(pages) as Name[]).map((w) => `${w} ${recovered[w] === undefined ? 'never' : `${(recovered[w] / 1000).toFixed(1)} s`}`).join(', ') +
      ` (end of the first 1.5 s listening window that heard them); page c showed "Reconnecting…": ${saw}, ${cSession}`,
  );
  // Pages a and b were not disturbed: the same sessions.
  expect({ a: idOf('a'), b: idOf('b') }).toEqual({ a: idsBefore.a, b: idsBefore.b });
  for (const who of Object.keys(pages) as Name[]) {
    expect(recovered[who], `page ${who} heard the others again within 90 s`).toBeTypeOf('number');
    expect(await pages[who].page.locator('[data-testid="call"]').getAttribute('data-phase')).toBe('joined');
    expect(await pages[who].page.getByTestId('error').count()).toBe(0);
  }
  await pages.c.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: 10_000 });
  return recovered;
}

it('before the outage, everyone hears everyone (page c from its namespace)', async () => {
  for (const who of Object.keys(pages) as Name[]) {
    await expect.poll(() => tonesHeardBy(who), { timeout: 20_000 }).toEqual(expectedBy(who));
  }
}, 60_000);

it('a page that loses its network for 10 s: everyone hears everyone again, no click', async () => {
  await outage(10);
}, 150_000);

it('a page that loses its network for 40 s: everyone hears everyone again, no click', async () => {
  await outage(40);
}, 180_000);
