import type { Dashboard } from '@grafana/schema';
import { overview } from './overview.ts';
import { workers } from './workers.ts';

/** Provisioned dashboards by file name in grafana/dashboards/. */
export const dashboards: Record<string, Dashboard> = {
  'chorus-overview.json': overview,
  'chorus-workers.json': workers,
};
