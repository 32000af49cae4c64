import type { Dashboard } from '@grafana/schema';
import { cluster } from './cluster.ts';
import { overview } from './overview.ts';
import { workers } from './workers.ts';

/** Provisioned dashboards by file name in grafana/dashboards/. */
export const dashboards: Record<string, Dashboard> = {
  'chorus-overview.json': overview,
  'chorus-workers.json': workers,
  'chorus-cluster.json': cluster,
};

/** Dashboards whose metrics exist only in cluster mode (checked against two nodes, not one). */
export const clusterOnly: ReadonlySet<string> = new Set(['chorus-cluster.json']);
