// One room link opened in three Chromium pages through two cluster nodes: a
// real redis-server of the test's own and two Chorus processes (`npm start`)
// on this host, each with its own HTTP port and RTC port base, one PostgreSQL
// database and one auth secret. The room lives on node a; the two pages served
// by node b get WRONG_NODE there, their client core follows it to node a's
// WebSocket, and all three hear each other (a tone each, frequency analysis as
// in call.test), with nothing blocked by the Content-Security-Policy of b's page.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type InRoom, cspViolations, eventually, joinRoomInBrowsers, tonesPlayed } from '../support/browser.ts';
import { killChorusProcesses } from '../support/chorusProcess.ts';
import { type ClusterNode, adminRoom, clusterFormed, gauge, startClusterNode } from '../support/cluster.ts';
import { freePort } from '../support/freePort.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startTestRedis, type TestRedis } from '../support/redis.ts';
import { until } from '../support/wait.ts';

const SECRET = 'cluster-e2e-auth-secret-0123456789-abcdef';
const ADMIN = 'cluster-e2e-admin-secret-0123';
const ROOM = 'across';
const tones = [440, 660, 880] as const;
type Tone = (typeof tones)[number];
/** Tone440 opens the link on node a (the room is placed there), the two others on node b. */
const via: Record<Tone, 'a' | 'b'> = { 440: 'a', 660: 'b', 880: 'b' };

let redis: TestRedis;
let database: { url: string; drop(): Promise<void> };
let configDir: string;
let a: ClusterNode;
let b: ClusterNode;
const rtcPortBase: Record<'a' | 'b', number> = { a: 0, b: 0 };
const people = new Map<Tone, InRoom>();
/** Every WebSocket each page opened, in order, and whether it is still open. */
const sockets = new Map<Tone, { url: string; open: boolean }[]>();

/** Records every WebSocket the page opens, and keeps its RTCPeerConnections at hand (window.__pcs) for mediaPorts. */
async function watch(page: Page, tone: Tone): Promise<void> {
  const list: { url: string; open: boolean }[] = [];
  sockets.set(tone, list);
  page.on('websocket', (ws) => {
    const entry = { url: ws.url(), open: true };
    list.push(entry);
    ws.on('close', () => (entry.open = false));
  });
  await page.addInitScript(() => {
    const w = window as unknown as { __pcs: RTCPeerConnection[]; RTCPeerConnection: typeof RTCPeerConnection };
    w.__pcs = [];
    const Original = w.RTCPeerConnection;
    w.RTCPeerConnection = class extends Original {
      constructor(config?: RTCConfiguration) {
        super(config);
        w.__pcs.push(this);
      }
    };
  });
}

/** The server ports of the page's media: the remote candidate of every selected ICE candidate pair. */
function mediaPorts(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const ports: number[] = [];
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === 'closed') continue;
      const stats = [...(await pc.getStats()).values()] as { type: string; id: string; selectedCandidatePairId?: string; remoteCandidateId?: string; port?: number }[];
      const byId = new Map(stats.map((st) => [st.id, st]));
      for (const t of stats.filter((st) => st.type === 'transport' && st.selectedCandidatePairId)) {
        const pair = byId.get(t.selectedCandidatePairId!);
        const remote = pair?.remoteCandidateId ? byId.get(pair.remoteCandidateId) : undefined;
        if (remote?.port) ports.push(remote.port);
      }
    }
    return ports;
  });
}

const same = (x: object, y: object) => JSON.stringify(Object.entries(x).sort()) === JSON.stringify(Object.entries(y).sort());
const expectedFor = (tone: Tone) => Object.fromEntries(tones.filter((t) => t !== tone).map((t) => [people.get(t)!.id, t]));

beforeAll(async () => {
  redis = await startTestRedis();
  database = await createTestDatabase(inject('postgresAdminUrl'));
  configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-cluster-e2e-'));
  const configFile = path.join(configDir, 'chorus.yaml');
  fs.writeFileSync(configFile, 'cluster:\n  heartbeatMs: 200\n  nodeTtlMs: 1200\n  leaseMs: 2500\nrooms:\n  emptyRoomCloseDelayMs: 1000\n');
  // One worker each: its RTC port is the base; two different bases on one host.
  rtcPortBase.a = await freePort();
  do rtcPortBase.b = await freePort();
  while (rtcPortBase.b === rtcPortBase.a);
  const start = (id: 'a' | 'b') =>
    startClusterNode(`node-${id}`, {
      redisUrl: redis.url,
      databaseUrl: database.url,
      secret: SECRET,
      env: { CHORUS_CONFIG: configFile, CHORUS_ADMIN_SECRET: ADMIN, CHORUS_RTC_PORT_BASE: String(rtcPortBase[id]) },
    });
  [a, b] = await Promise.all([start('a'), start('b')]);
  await clusterFormed([a, b], SECRET);
  // The probe rooms are gone and both heartbeats say so: the room is a tie, placed on the node asked (a).
  for (const n of [a, b]) await until(async () => (await gauge(n, 'chorus_cluster_owned_rooms')) === 0, `${n.id} to hold no room`, 20_000);
  await new Promise((r) => setTimeout(r, 1_000));

  const site = {
    url: a.url,
    // Wherever the person ended (the test below says whether that is node a).
    participantId: async (room: string, name: string) => {
      const everywhere = [...((await adminRoom(a, room, ADMIN))?.participants ?? []), ...((await adminRoom(b, room, ADMIN))?.participants ?? [])];
      const found = everywhere.find((p) => p.displayName === name);
      if (!found) throw new Error(`${name} is in no room ${room} on either node`);
      return found.id;
    },
  };
  const joined = await joinRoomInBrowsers(
    site,
    ROOM,
    tones.map((hz) => ({ name: `Tone${hz}`, hz, url: (via[hz] === 'a' ? a : b).url })),
    { beforeJoin: (page, name) => watch(page, Number(name.slice(4)) as Tone) },
  );
  for (const tone of tones) people.set(tone, joined[`Tone${tone}`]!);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([...people.values()].map((p) => p.close()));
  killChorusProcesses();
  await Promise.allSettled([a, b].filter(Boolean).map((n) => n.run.exited));
  await redis?.close();
  await database?.drop();
  if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
});

describe('a room link opened through two cluster nodes in Chromium', () => {
  it('runs on two processes with their own HTTP ports and RTC port bases', async () => {
    expect(new URL(a.url).port).not.toBe(new URL(b.url).port);
    expect(rtcPortBase.a).not.toBe(rtcPortBase.b);
    for (const n of [a, b]) {
      const ready = (await (await fetch(`${n.url}/readyz`)).json()) as { status: string; redis: string };
      expect(ready, n.id).toMatchObject({ status: 'ready', redis: 'reachable' });
    }
  });

  it('is one call on the room\'s node: the pages of node b followed WRONG_NODE to node a', async () => {
    const onA = await adminRoom(a, ROOM, ADMIN);
    expect(onA?.participants.map((p) => p.displayName).sort()).toEqual(tones.map((t) => `Tone${t}`));
    expect(await adminRoom(b, ROOM, ADMIN), 'no copy of the room on node b').toBeUndefined();
    for (const tone of tones) {
      const page = people.get(tone)!.page;
      const opened = sockets.get(tone)!;
      // The page stays where it was served; its call runs over node a's WebSocket.
      expect(new URL(page.url()).origin, `Tone${tone}'s page`).toBe(new URL((via[tone] === 'a' ? a : b).url).origin);
      const expected = via[tone] === 'a' ? [a.wsUrl] : [b.wsUrl, a.wsUrl];
      expect(opened.map((s) => s.url), `Tone${tone}'s WebSockets`).toEqual(expected);
      expect(opened.at(-1)!.open, `Tone${tone}'s socket to node a is open`).toBe(true);
    }
    expect(await gauge(b, 'chorus_ws_errors_total', 'code="WRONG_NODE"'), 'redirects by node b').toBe(2);
    // Every page's media goes to node a's RTC port (its worker's WebRtcServer), none to node b's.
    for (const tone of tones) {
      const ports = await eventually(
        () => mediaPorts(people.get(tone)!.page),
        (p) => p.length === 2,
      );
      expect(ports, `Tone${tone}'s send and receive transports`).toEqual([rtcPortBase.a, rtcPortBase.a]);
    }
  });

  it('everyone hears the two others', async () => {
    for (const tone of tones) {
      const page = people.get(tone)!.page;
      const heard = await eventually(
        () => tonesPlayed(page, tones),
        (h) => same(h, expectedFor(tone)),
      );
      expect(heard, `Tone${tone} (page of node ${via[tone]}) plays`).toEqual(expectedFor(tone));
    }
    for (const p of people.values()) expect(await cspViolations(p.page), 'CSP violations').toEqual([]);
  });
});
