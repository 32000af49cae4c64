// The front door, one test per limit, against a real Chorus (real worker,
// PostgreSQL): which pages may open a socket, sockets per address, the join
// deadline, the request rate (kept by identity across a rejoin), a client that
// does not read, the send transport's incoming bitrate cap, and the security
// headers of every HTTP response. Each refusal is counted in
// chorus_ws_refused_total{reason}.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { closeCodes, PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { webDist } from '../../sfu/paths.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { until } from '../support/wait.ts';

/** Tight limits, so that each one is reached quickly. */
let chorus: TestChorus;
/** Behind a (pretend) proxy: X-Forwarded-For trusted, an origin list, a big request budget, a small send buffer. */
let proxied: TestChorus;
const opened: { close(): void | Promise<void> }[] = [];

beforeAll(async () => {
  chorus = await startTestChorus({
    signaling: { joinTimeoutMs: 1_000, maxSocketsPerAddress: 8, requestsPerSecond: 5, requestBurst: 20 },
    audio: { maxIncomingBitrate: 64_000 },
  });
  proxied = await startTestChorus({
    signaling: {
      allowedOrigins: ['https://app.example.com'],
      trustProxy: true,
      maxSocketsPerAddress: 3,
      requestsPerSecond: 10_000,
      requestBurst: 100_000,
      maxBufferedBytes: 64 * 1024,
    },
  });
}, 30_000);

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await chorus?.stop();
  await proxied?.stop();
});

type Reply = { id: number | null; ok: boolean; error?: { code: string; message: string }; data?: unknown };

/** A bare WebSocket speaking the protocol by hand: replies by id, and how it closed. */
class Raw {
  readonly replies = new Map<number, Reply>();
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Reply & { notification?: string };
      if (msg.notification === undefined && msg.id !== null) this.replies.set(msg.id, msg);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(server: TestChorus, headers: Record<string, string> = {}): Promise<Raw> {
    const ws = new WebSocket(server.wsUrl, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const raw = new Raw(ws);
    opened.push({ close: () => ws.terminate() });
    return raw;
  }

  /** Sends a request without waiting; returns its id. */
  send(method: string, data: unknown = {}): number {
    const id = this.#nextId++;
    this.ws.send(JSON.stringify({ id, method, data }));
    return id;
  }

  async request(method: string, data: unknown = {}): Promise<Reply> {
    const id = this.send(method, data);
    await until(() => this.replies.has(id), `a reply to ${method}`);
    return this.replies.get(id)!;
  }

  join(server: TestChorus, room: string, name: string, identity?: string): Promise<Reply> {
    return server
      .token(room, name, 'speaker', identity)
      .then((token) => this.request('join', { protocolVersion: PROTOCOL_VERSION, room, token }));
  }
}

/** The HTTP status an upgrade gets: 101 when the socket opens, else the refusal's. */
function upgradeStatus(server: TestChorus, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl, { headers });
    ws.once('open', () => {
      opened.push({ close: () => ws.terminate() });
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', (err) => (/Unexpected server response/.test(err.message) ? undefined : reject(err)));
  });
}

/** chorus_ws_refused_total{reason} now. */
async function refused(server: TestChorus, reason: string): Promise<number> {
  const text = await server.metrics.registry.metrics();
  const m = text.match(new RegExp(`^chorus_ws_refused_total\\{reason="${reason}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

describe('the origin allow-list', () => {
  it('admits pages of the same host and clients that send no Origin; refuses other origins with 403', async () => {
    const host = new URL(chorus.url).host;
    const before = await refused(chorus, 'origin');
    expect(await upgradeStatus(chorus, { Origin: `http://${host}` })).toBe(101);
    expect(await upgradeStatus(chorus)).toBe(101); // Node clients, chorus-load
    expect(await upgradeStatus(chorus, { Origin: 'https://evil.example' })).toBe(403);
    // Same host name, another port: another origin.
    expect(await upgradeStatus(chorus, { Origin: `http://127.0.0.1:1` })).toBe(403);
    expect(await upgradeStatus(chorus, { Origin: 'null' })).toBe(403); // sandboxed frames, file:
    expect(await refused(chorus, 'origin')).toBe(before + 3);
  });

  it('with a list configured, admits exactly the listed origins', async () => {
    const headers = (origin: string) => ({ Origin: origin, 'X-Forwarded-For': `10.1.0.${Math.floor(Math.random() * 250)}` });
    expect(await upgradeStatus(proxied, headers('https://app.example.com'))).toBe(101);
    expect(await upgradeStatus(proxied, headers(`http://${new URL(proxied.url).host}`))).toBe(403);
    expect(await upgradeStatus(proxied, headers('https://app.example.com.evil.example'))).toBe(403);
    expect(await upgradeStatus(proxied, headers('http://app.example.com'))).toBe(403);
  });
});

describe('sockets per address', () => {
  it('refuses the socket over the cap with 429, per X-Forwarded-For address behind a trusted proxy, and frees the place on close', async () => {
    const from = (ip: string) => ({ 'X-Forwarded-For': `203.0.113.7, ${ip}` }); // the proxy appended the last one
    const before = await refused(proxied, 'addressLimit');
    const three = await Promise.all([1, 2, 3].map(() => Raw.open(proxied, from('198.51.100.1'))));
    expect(await upgradeStatus(proxied, from('198.51.100.1'))).toBe(429);
    expect(await upgradeStatus(proxied, from('198.51.100.2'))).toBe(101); // another client behind the proxy
    three[0]!.ws.close();
    await three[0]!.closed;
    await until(async () => (await upgradeStatus(proxied, from('198.51.100.1'))) === 101, 'a place after a close');
    expect(await refused(proxied, 'addressLimit')).toBeGreaterThanOrEqual(before + 1);
  });

  it('ignores X-Forwarded-For unless trustProxy is on: the TCP peer address counts', async () => {
    // The earlier tests' sockets are closed by now or counted too; fill up to the cap of 8 with varying headers.
    const results: number[] = [];
    for (let i = 0; i < 10; i++) results.push(await upgradeStatus(chorus, { 'X-Forwarded-For': `192.0.2.${i}` }));
    expect(results.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    for (const c of opened.splice(0)) await c.close();
    await until(async () => (await upgradeStatus(chorus)) === 101, 'places back after closing');
    for (const c of opened.splice(0)) await c.close();
  });
});

describe('the join deadline', () => {
  it('closes a socket that neither joins nor resumes in time with 4408, and leaves a joined one open', async () => {
    const before = await refused(chorus, 'joinTimeout');
    const idle = await Raw.open(chorus);
    const busy = await Raw.open(chorus); // requests, but never a join
    const joined = await Raw.open(chorus);
    expect(await joined.join(chorus, 'deadline', 'J')).toMatchObject({ ok: true });
    expect((await busy.request('mute')).error?.code).toBe('NOT_JOINED');
    expect(await idle.closed).toMatchObject({ code: closeCodes.joinTimeout });
    expect(await busy.closed).toMatchObject({ code: closeCodes.joinTimeout });
    await new Promise((r) => setTimeout(r, 300));
    expect(joined.ws.readyState).toBe(WebSocket.OPEN);
    expect(await joined.request('mute')).toMatchObject({ ok: true }); // still served
    expect(await refused(chorus, 'joinTimeout')).toBeGreaterThanOrEqual(before + 2);
    joined.ws.close();
  });

  it('runs again when a socket leaves: closed with 4408 unless it joins again', async () => {
    const back = await Raw.open(chorus); // leaves, then joins again at once
    const gone = await Raw.open(chorus); // leaves and stays open
    expect(await back.join(chorus, 'deadline-again', 'B')).toMatchObject({ ok: true });
    expect(await gone.join(chorus, 'deadline-again', 'G')).toMatchObject({ ok: true });
    // Past the deadline from the opening: both still served.
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await back.request('leave')).toMatchObject({ ok: true }); // B's deadline starts before G's
    expect(await gone.request('leave')).toMatchObject({ ok: true });
    expect(await back.join(chorus, 'deadline-again', 'B')).toMatchObject({ ok: true });
    expect(await gone.closed).toMatchObject({ code: closeCodes.joinTimeout });
    // B's deadline from its leave has passed too; it joined again, so it is open and served.
    expect(back.ws.readyState).toBe(WebSocket.OPEN);
    expect(await back.request('mute')).toMatchObject({ ok: true });
    back.ws.close();
  });
});

describe('the request rate limit', () => {
  it('answers RATE_LIMITED past the burst, in order; keeps the debt across a rejoin by the same identity; closes with 4429 past the hard limit', async () => {
    const a = await Raw.open(chorus);
    expect(await a.join(chorus, 'rate', 'A', 'flooder')).toMatchObject({ ok: true });
    // Burst 20 (the join took one): 30 more at once.
    const ids = Array.from({ length: 30 }, () => a.send('consumerReady', { consumerId: 'none' }));
    await until(() => ids.every((id) => a.replies.has(id)), 'all replies');
    const codes = ids.map((id) => a.replies.get(id)!.error?.code);
    const firstLimited = codes.indexOf('RATE_LIMITED');
    expect(firstLimited).toBeGreaterThanOrEqual(18);
    expect(firstLimited).toBeLessThanOrEqual(20);
    expect(codes.slice(0, firstLimited).every((c) => c === 'NOT_FOUND')).toBe(true);
    expect(codes.slice(firstLimited).every((c) => c === 'RATE_LIMITED')).toBe(true);
    expect(a.replies.get(ids.at(-1)!)!.error?.message).toMatch(/wait \d+ s/);

    // A rejoin with the same identity on a new socket does not refill the bucket.
    a.ws.close();
    await a.closed;
    const again = await Raw.open(chorus);
    expect(await again.join(chorus, 'rate', 'A', 'flooder')).toMatchObject({ ok: true });
    expect((await again.request('consumerReady', { consumerId: 'none' })).error?.code).toBe('RATE_LIMITED');
    // Someone else in the room is not affected.
    const other = await Raw.open(chorus);
    expect(await other.join(chorus, 'rate', 'B', 'calm')).toMatchObject({ ok: true });
    expect((await other.request('consumerReady', { consumerId: 'none' })).error?.code).toBe('NOT_FOUND');

    // Going on regardless: closed, and the participant leaves (no resume for a flooder).
    const before = await refused(chorus, 'rateLimitClose');
    for (let i = 0; i < 40 && again.ws.readyState === WebSocket.OPEN; i++) again.send('consumerReady', { consumerId: 'none' });
    expect(await again.closed).toMatchObject({ code: closeCodes.rateLimit });
    expect(await refused(chorus, 'rateLimitClose')).toBe(before + 1);
    expect(await refused(chorus, 'rateLimited')).toBeGreaterThanOrEqual(10);
    await until(() => ![...(chorus.rooms.rooms.get('rate')?.participants.values() ?? [])].some((p) => p.identity === 'flooder'), 'the flooder gone');

    // A client that waits is served again: at 5 tokens a second, a debt of 20 is paid in 4 s.
    await new Promise((r) => setTimeout(r, 4_500));
    const patient = await Raw.open(chorus);
    expect(await patient.join(chorus, 'rate', 'A', 'flooder')).toMatchObject({ ok: true });
    expect((await patient.request('consumerReady', { consumerId: 'none' })).error?.code).toBe('NOT_FOUND');
    patient.ws.close();
    other.ws.close();
  }, 30_000);
});

describe('a client that does not read', () => {
  it('is closed with 4413 once more than maxBufferedBytes wait to be sent, and its participant may resume', async () => {
    const before = await refused(proxied, 'slowConsumer');
    const slow = await Raw.open(proxied, { 'X-Forwarded-For': '198.51.100.50' });
    expect(await slow.join(proxied, 'slow', 'S')).toMatchObject({ ok: true });
    // Stop reading; then ask for large answers (INVALID_MESSAGE names every unknown key: ≈ 40 kB each).
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const junk = Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`k${i}`, 0]));
    for (let i = 0; i < 600 && slow.ws.readyState === WebSocket.OPEN; i++) {
      slow.send('chat', junk);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
      if ((await refused(proxied, 'slowConsumer')) > before) break;
    }
    await until(async () => (await refused(proxied, 'slowConsumer')) === before + 1, 'the slow consumer closed', 20_000);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed).toMatchObject({ code: closeCodes.slowConsumer });
    // Not a leave: the participant waits for a resume (its network may just have stalled).
    expect(proxied.rooms.rooms.get('slow')?.participants.size).toBe(1);
    await until(() => proxied.signaling.detachedCount === 1, 'the participant kept for a resume');
  }, 40_000);
});

describe('incoming bitrate', () => {
  it('caps what a participant may send: audio.maxIncomingBitrate on its send transport', async () => {
    const peer = await NodePeer.join(chorus, 'bitrate', 'Talker', opusTonePackets(440));
    opened.push(peer);
    const participant = [...chorus.rooms.rooms.get('bitrate')!.participants.values()][0]!;
    const [send] = await participant.transport('send').getStats();
    expect(send?.maxIncomingBitrate).toBe(64_000);
    const [recv] = await participant.transport('recv').getStats();
    expect(recv?.maxIncomingBitrate ?? 0).toBe(0);
  });
});

describe('security headers', () => {
  it('are on every HTTP response: the page, the API, a 404, an error', async () => {
    const responses = await Promise.all([
      fetch(`${chorus.url}/`),
      fetch(`${chorus.url}/healthz`),
      fetch(`${chorus.url}/no-such-page`),
      fetch(`${chorus.url}/dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 404, 400]);
    const host = new URL(chorus.url).host;
    for (const res of responses) {
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, res.url).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
      expect(csp).not.toContain('unsafe');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('fit the built web client: no inline script or style for the CSP to block', () => {
    const html = fs.readFileSync(path.join(webDist, 'index.html'), 'utf8');
    for (const tag of html.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? []) expect(tag).toMatch(/^<script[^>]* src="\/[^"]+"[^>]*><\/script>$/);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
  });
});
