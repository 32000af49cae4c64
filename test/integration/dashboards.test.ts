// The Grafana dashboards against reality: a real Prometheus scrapes a real
// Chorus during a small real call (Node WebRTC peers), then every panel query of
// every dashboard is evaluated through Prometheus's HTTP API; each must succeed
// and return finite values, above 0 for everything the call exercises. Also: the provisioned JSON is exactly what the
// typed sources (grafana/src, checked by tsc against @grafana/schema) produce.
// The cluster dashboard is checked against two nodes in clusterDashboard.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterOnly, dashboards } from '../../grafana/src/index.ts';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { projectRoot } from '../../sfu/paths.ts';
import { type TestChorus, startTestChorus } from '../support/chorus.ts';
import { checkDashboard, problems } from '../support/dashboardCheck.ts';
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

  for (const [file, d] of Object.entries(dashboards).filter(([f]) => !clusterOnly.has(f))) {
    it(`${file}: every panel query returns finite values from a real Prometheus, above 0 where the call moves them`, async () => {
      const found = await checkDashboard(prometheus, d, zeroInAHealthyCall);
      expect(found.queries.length).toBeGreaterThan(5);
      // Each query has series, finite values, and above 0 for everything the call moves (all but
      // what a healthy loopback call keeps at 0); quantile histograms got samples; variables find values.
      expect(problems(found)).toEqual({});
    });
  }
});
