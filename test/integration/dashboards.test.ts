// The Grafana dashboards against reality: a real Prometheus scrapes a real
// Chorus during a small real call (Node WebRTC peers), then every panel query of
// every dashboard is evaluated through Prometheus's HTTP API; each must succeed
// and return at least one series. Also: the provisioned JSON is exactly what the
// typed sources (grafana/src, checked by tsc against @grafana/schema) produce.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboards } from '../../grafana/src/index.ts';
import { queriesOf } from '../../grafana/src/panels.ts';
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

/** Dashboard variables as Grafana would fill them with "All". */
const fillVariables = (expr: string) => expr.replaceAll('$worker', '.*');

beforeAll(async () => {
  chorus = await startTestChorus({ metrics: { statsIntervalMs: 500 } });
  prometheus = await startPrometheus(new URL(chorus.url).host);
  peers.push(await NodePeer.join(chorus, 'graphs', 'Ada', opusTonePackets(440)));
  peers.push(await NodePeer.join(chorus, 'graphs', 'Bob', opusTonePackets(660)));
  // One refused request, so the error panel has something to show.
  const c = await ProtocolClient.connect(chorus.wsUrl);
  await c.request('mute', {});
  await c.close();
  await until(async () => (await prometheus.scrapes()) >= 8, 'eight scrapes', 30_000);
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
    it(`${file}: every panel query returns series from a real Prometheus`, async () => {
      const queries = queriesOf(d);
      expect(queries.length).toBeGreaterThan(5);
      const empty: string[] = [];
      for (const expr of queries) {
        const data = await prometheus.query(fillVariables(expr));
        if (data.result.length === 0) empty.push(expr);
      }
      expect(empty, 'queries without series').toEqual([]);
      // Variables: label_values(metric, label) must find values.
      for (const v of d.templating?.list ?? []) {
        const m = /^label_values\((\w+), (\w+)\)$/.exec(String(v.query));
        expect(m, `variable ${v.name} uses label_values(metric, label)`).not.toBeNull();
        expect((await prometheus.query(`count by (${m![2]}) (${m![1]})`)).result.length).toBeGreaterThan(0);
      }
    });
  }
});
