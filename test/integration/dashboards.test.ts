// The Grafana dashboards against reality: a real Prometheus scrapes a real
// Chorus during a small real call (Node WebRTC peers), then every panel query of
// every dashboard is evaluated through Prometheus's HTTP API; each must succeed
// and return finite values, above 0 for everything the call exercises. Also: the provisioned JSON is exactly what the
// typed sources (grafana/src, checked by tsc against @grafana/schema) produce.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboards } from '../../grafana/src/index.ts';
import { queriesOf } from '../../grafana/src/panels.ts';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { projectRoot } from '../../sfu/paths.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import { type TestPrometheus, startPrometheus } from '../support/prometheus.ts';
import { ProtocolClient } from '../support/protocolClient.ts';
import { until } from '../support/wait.ts';

let chorus: TestChorus;
let prometheus: TestPrometheus;
const peers: NodePeer[] = [];

/**
 * Metrics that stay at 0 during a healthy call on loopback: their panels need only a
 * finite value (the loss-ratio histogram's lowest bucket is 0, so its quantiles are 0 too;
 * that it got samples is checked below).
 */
const zeroInAHealthyCall = new Set([
  'chorus_rtp_packets_lost_total',
  'chorus_rtp_loss_ratio_bucket',
  'chorus_db_dropped_writes_total',
  'chorus_db_queued_writes',
]);

/** Dashboard variables as Grafana would fill them with "All". */
const fillVariables = (expr: string) => expr.replaceAll('$worker', '.*');

beforeAll(async () => {
  chorus = await startTestChorus({ metrics: { statsIntervalMs: 500 } });
  prometheus = await startPrometheus(new URL(chorus.url).host);
  // Prometheus sees an idle Chorus first, so every counter the call moves rises
  // between its samples (a rate over the window is above 0, not just a series).
  await until(async () => (await prometheus.scrapes()) >= 2, 'two idle scrapes', 30_000);
  peers.push(await NodePeer.join(chorus, 'graphs', 'Ada', opusTonePackets(440)));
  peers.push(await NodePeer.join(chorus, 'graphs', 'Bob', opusTonePackets(660)));
  const scrapesAfterJoins = (await prometheus.scrapes()) + 2;
  await until(async () => (await prometheus.scrapes()) >= scrapesAfterJoins, 'two scrapes of the call', 30_000);
  // Later, one refused request, so the error panel has something to show; then a
  // listener who joins and leaves, so database writes rise after their series appeared
  // (a series that appears with its final value has a rate of 0).
  const c = await ProtocolClient.connect(chorus.wsUrl);
  await c.request('mute', {});
  await c.call('join', { protocolVersion: PROTOCOL_VERSION, room: 'graphs', token: await chorus.token('graphs', 'Lis', 'listener') });
  await c.close();
  const enough = (await prometheus.scrapes()) + 4;
  await until(async () => (await prometheus.scrapes()) >= enough, 'four more scrapes', 30_000);
}, 60_000);

afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  await prometheus?.stop();
  await chorus?.stop();
});

describe('Grafana dashboards', () => {
  it('are provisioned exactly as their typed sources produce them', () => {
    for (const [file, d] of Object.entries(dashboards)) {
      const onDisk = fs.readFileSync(path.join(projectRoot, 'grafana', 'dashboards', file), 'utf8');
      expect(onDisk, `${file} is stale: run npm run grafana:build`).toBe(`${JSON.stringify(d, null, 2)}\n`);
    }
  });

  for (const [file, d] of Object.entries(dashboards)) {
    it(`${file}: every panel query returns finite values from a real Prometheus, above 0 where the call moves them`, async () => {
      const queries = queriesOf(d);
      expect(queries.length).toBeGreaterThan(5);
      const empty: string[] = [];
      const notFinite: string[] = [];
      const notPositive: string[] = [];
      for (const expr of queries) {
        const data = await prometheus.query(fillVariables(expr));
        const values = (data.result as { value: [number, string] }[]).map((r) => Number(r.value[1]));
        if (values.length === 0) empty.push(expr);
        // NaN (e.g. a quantile of a histogram with no observations in the window) or ±Inf is no answer.
        if (!values.every(Number.isFinite)) notFinite.push(`${expr} = ${values.join(', ')}`);
        // The call moves every metric but those a healthy loopback call keeps at 0:
        // each other panel must show a value above 0 (traffic, joins, CPU, samples, the error).
        const metrics = expr.match(/chorus_\w+/g) ?? [];
        if (!metrics.some((m) => zeroInAHealthyCall.has(m)) && !values.some((v) => v > 0)) notPositive.push(`${expr} = ${values.join(', ')}`);
      }
      expect(empty, 'queries without series').toEqual([]);
      expect(notFinite, 'queries with NaN or infinite values').toEqual([]);
      expect(notPositive, 'queries the call should move, at 0').toEqual([]);
      // The histograms behind quantile panels got samples during the call (a quantile alone can hide an empty window).
      for (const histogram of new Set(queries.flatMap((e) => e.match(/chorus_\w+(?=_bucket)/g) ?? []))) {
        const count = await prometheus.query(`sum(increase(${histogram}_count[5m]))`);
        expect(Number((count.result as { value: [number, string] }[])[0]?.value[1] ?? 0), `${histogram} samples`).toBeGreaterThan(0);
      }
      // Variables: label_values(metric, label) must find values.
      for (const v of d.templating?.list ?? []) {
        const m = /^label_values\((\w+), (\w+)\)$/.exec(String(v.query));
        expect(m, `variable ${v.name} uses label_values(metric, label)`).not.toBeNull();
        expect((await prometheus.query(`count by (${m![2]}) (${m![1]})`)).result.length).toBeGreaterThan(0);
      }
    });
  }
});
