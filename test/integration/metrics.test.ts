// /metrics during a real call (Node WebRTC peers sending Opus): the gauges,
// counters and histograms move, labels stay bounded, and each session gets a
// call-quality summary in PostgreSQL.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../sfu/paths.ts';
import { openDatabase } from '../../sfu/db/database.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { parseExposition, total } from '../../tools/load/promText.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { until } from '../support/wait.ts';

let chorus: TestChorus;
let ada: NodePeer;
let bob: NodePeer;

const scrape = async (c = chorus) => {
  const res = await fetch(`${c.url}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  return { text: await res.text(), samples: parseExposition(await (await fetch(`${c.url}/metrics`)).text()) };
};

beforeAll(async () => {
  chorus = await startTestChorus({ metrics: { statsIntervalMs: 300 } });
  ada = await NodePeer.join(chorus, 'metered', 'Ada', opusTonePackets(440));
  bob = await NodePeer.join(chorus, 'metered', 'Bob', opusTonePackets(660));
  await until(() => ada.packetsFrom(bob.participantId) > 30 && bob.packetsFrom(ada.participantId) > 30, 'audio both ways');
  await new Promise((r) => setTimeout(r, 700)); // two stats samples
  // RTT needs an RTCP receiver report from each peer before a sample: on a busy machine that can take longer.
  await until(async () => total((await scrape()).samples, 'chorus_rtt_seconds_count') > 0, 'a stats sample with an RTT', 15_000);
}, 30_000);

afterAll(async () => {
  await ada?.close();
  await bob?.close();
  await chorus?.stop();
});

describe('/metrics during a call', () => {
  it('counts rooms, participants, producers and consumers per worker', async () => {
    const { samples } = await scrape();
    const w0 = { worker: '0' };
    expect(total(samples, 'chorus_rooms', w0)).toBe(1);
    expect(total(samples, 'chorus_participants', w0)).toBe(2);
    expect(total(samples, 'chorus_producers', w0)).toBe(2);
    expect(total(samples, 'chorus_consumers', w0)).toBe(2);
    expect(total(samples, 'chorus_consumers_active', w0)).toBe(2);
    expect(total(samples, 'chorus_workers')).toBe(1);
    expect(total(samples, 'chorus_ws_connections')).toBe(2);
  });

  it('counts RTP packets and bytes both ways, and samples loss, jitter, RTT and scores', async () => {
    const { samples } = await scrape();
    for (const direction of ['in', 'out']) {
      expect(total(samples, 'chorus_rtp_packets_total', { direction })).toBeGreaterThan(50);
      expect(total(samples, 'chorus_rtp_bytes_total', { direction })).toBeGreaterThan(1000);
      expect(total(samples, 'chorus_rtp_loss_ratio_count', { direction })).toBeGreaterThan(0);
      expect(total(samples, 'chorus_stream_score_count', { direction })).toBeGreaterThan(0);
    }
    expect(total(samples, 'chorus_rtp_packets_lost_total')).toBe(0); // loopback
    expect(total(samples, 'chorus_rtp_jitter_seconds_count')).toBeGreaterThan(0);
    // RTT comes from the peers' RTCP receiver reports on what the server forwards to them.
    expect(total(samples, 'chorus_rtt_seconds_count')).toBeGreaterThan(0);
    expect(total(samples, 'chorus_rtt_seconds_sum')).toBeGreaterThan(0);
    expect(total(samples, 'chorus_stats_sample_duration_seconds_count')).toBeGreaterThan(0);
  });

  it('measures worker CPU and memory, join latency and database writes', async () => {
    const { samples } = await scrape();
    expect(total(samples, 'chorus_worker_cpu_seconds_total', { worker: '0' })).toBeGreaterThan(0);
    expect(total(samples, 'chorus_worker_memory_bytes', { worker: '0' })).toBeGreaterThan(1_000_000);
    expect(total(samples, 'chorus_join_duration_seconds_count')).toBe(2);
    const joinSum = total(samples, 'chorus_join_duration_seconds_sum');
    expect(joinSum).toBeGreaterThan(0);
    expect(total(samples, 'chorus_db_write_duration_seconds_count', { result: 'ok' })).toBeGreaterThanOrEqual(3);
  });

  it('reports no queued database writes once the recorder has flushed', async () => {
    expect(await chorus.recorder.flush(5_000)).toBe(true);
    const { samples } = await scrape();
    expect(samples.some((s) => s.name === 'chorus_db_queued_writes')).toBe(true);
    expect(total(samples, 'chorus_db_queued_writes')).toBe(0);
  });

  it('counts signaling messages and errors by code', async () => {
    const before = total((await scrape()).samples, 'chorus_ws_errors_total', { code: 'NOT_JOINED' });
    const c = await ProtocolClient.connect(chorus.wsUrl);
    await c.request('mute', {});
    await c.close();
    const { samples } = await scrape();
    expect(total(samples, 'chorus_ws_errors_total', { code: 'NOT_JOINED' })).toBe(before + 1);
    expect(total(samples, 'chorus_ws_messages_total', { direction: 'in' })).toBeGreaterThan(10);
    expect(total(samples, 'chorus_ws_messages_total', { direction: 'out' })).toBeGreaterThan(10);
  });

  it('never labels by participant or room (bounded cardinality)', async () => {
    const { text, samples } = await scrape();
    for (const id of [ada.participantId, bob.participantId, 'metered']) expect(text).not.toContain(id);
    const labelNames = new Set(samples.flatMap((s) => Object.keys(s.labels)));
    expect([...labelNames].sort()).toEqual(expect.arrayContaining(['direction', 'worker']));
    for (const name of labelNames) expect(['worker', 'direction', 'code', 'result', 'reason', 'le', 'quantile', 'version', 'major', 'minor', 'patch', 'space', 'type', 'kind']).toContain(name);
    // The front door's refusal reasons are a fixed few.
    const reasons = samples.filter((s) => s.name === 'chorus_ws_refused_total').map((s) => s.labels.reason);
    expect(reasons.sort()).toEqual(['addressLimit', 'joinTimeout', 'origin', 'rateLimitClose', 'rateLimited', 'slowConsumer']);
  });
});

describe('per-room labels', () => {
  it('appear only when metrics.perRoomLabels is on', async () => {
    const rooms = await startTestChorus({ metrics: { perRoomLabels: true } });
    try {
      const c = await ProtocolClient.connect(rooms.wsUrl);
      await c.call('join', { protocolVersion: 2, room: 'labelled', token: await rooms.token('labelled', 'X') });
      const { samples } = await scrape(rooms);
      expect(total(samples, 'chorus_room_participants', { room: 'labelled' })).toBe(1);
      await c.close();
    } finally {
      await rooms.stop();
    }
    expect((await scrape()).samples.some((s) => s.name === 'chorus_room_participants')).toBe(false);
  });
});

describe('call quality in PostgreSQL', () => {
  it('writes a summary per session when it ends: bytes, loss, jitter, RTT, muted and speaking time', async () => {
    await bob.signaling.call('mute', {});
    await new Promise((r) => setTimeout(r, 1200));
    await bob.close();
    await until(async () => {
      await chorus.recorder.flush(2_000);
      const db = openDatabase(chorus.databaseUrl);
      try {
        const row = await db.selectFrom('participant_sessions').selectAll().where('id', '=', bob.participantId).executeTakeFirst();
        return row?.quality_at != null;
      } finally {
        await db.destroy();
      }
    }, 'quality row');
    const db = openDatabase(chorus.databaseUrl);
    try {
      const row = (await db.selectFrom('participant_sessions').selectAll().where('id', '=', bob.participantId).executeTakeFirst())!;
      expect(Number(row.bytes_sent)).toBeGreaterThan(1000);
      expect(Number(row.bytes_received)).toBeGreaterThan(1000);
      expect(row.loss_mean).toBe(0);
      expect(row.loss_worst).toBe(0);
      expect(row.jitter_mean_ms).not.toBeNull();
      expect(row.rtt_mean_ms).toBeGreaterThan(0);
      expect(row.rtt_worst_ms).toBeGreaterThanOrEqual(row.rtt_mean_ms!);
      expect(row.muted_seconds).toBeGreaterThanOrEqual(1);
      expect(row.speaking_seconds).toBeGreaterThan(0);
      expect(row.leave_reason).toBe('disconnected');
    } finally {
      await db.destroy();
    }
  });

  it("runs the README's bad-call query against the real schema", async () => {
    const readme = fs.readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
    const sql = /Who had a bad call[\s\S]*?```sql\n([\s\S]*?)```/.exec(readme)![1]!;
    // Today instead of yesterday, and any quality, so this call's rows qualify.
    const today = sql
      .replace("r.name = 'X'", "r.name = 'metered'")
      .replace('current_date - 1 and s.joined_at < current_date', 'current_date and s.joined_at < current_date + 1')
      .replace('s.loss_worst > 0.05', 's.loss_worst >= 0');
    const client = new pg.Client({ connectionString: chorus.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(today);
      expect(rows.map((r) => r.display_name)).toContain('Bob');
      expect(Object.keys(rows[0])).toEqual(['display_name', 'joined_at', 'left_at', 'leave_reason', 'worst_loss_pct', 'worst_jitter_ms', 'worst_rtt_ms', 'worker_pid']);
    } finally {
      await client.end();
    }
  });
});
