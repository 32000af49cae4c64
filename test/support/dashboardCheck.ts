// Evaluates every panel query and variable of a Grafana dashboard through a real
// Prometheus (test/support/prometheus.ts), as Grafana would with "All" selected:
// what a dashboard test then asserts on.
import type { Dashboard } from '@grafana/schema';
import { queriesOf } from '../../grafana/src/panels.ts';
import type { TestPrometheus } from './prometheus.ts';

export interface DashboardFindings {
  queries: string[];
  /** Queries that returned no series. */
  empty: string[];
  /** Queries with NaN or ±Inf values (e.g. a quantile of an empty window), with their values. */
  notFinite: string[];
  /** Queries the scenario should move whose every value is 0 (metrics in `zero` exempt). */
  notPositive: string[];
  /** Histograms behind quantile panels with no sample in the last 5 minutes. */
  unsampled: string[];
  /** Variables that are not label_values(metric, label) or find no value. */
  badVariables: string[];
}

/** What went wrong, by kind (only the kinds with findings): a test expects `{}`. */
export function problems({ queries: _, ...found }: DashboardFindings): Partial<Omit<DashboardFindings, 'queries'>> {
  return Object.fromEntries(Object.entries(found).filter(([, list]) => list.length > 0));
}

/** Dashboard variables ($worker, $node, …) as Grafana fills them with "All". */
export const fillVariables = (expr: string) => expr.replace(/\$\w+/g, '.*');

/** `zero`: metrics the scenario keeps at 0; their panels need only a finite value. */
export async function checkDashboard(prometheus: TestPrometheus, d: Dashboard, zero: ReadonlySet<string> = new Set()): Promise<DashboardFindings> {
  const queries = queriesOf(d);
  const found: DashboardFindings = { queries, empty: [], notFinite: [], notPositive: [], unsampled: [], badVariables: [] };
  for (const expr of queries) {
    const data = await prometheus.query(fillVariables(expr));
    const values = (data.result as { value: [number, string] }[]).map((r) => Number(r.value[1]));
    if (values.length === 0) found.empty.push(expr);
    if (!values.every(Number.isFinite)) found.notFinite.push(`${expr} = ${values.join(', ')}`);
    const metrics = expr.match(/chorus_\w+/g) ?? [];
    if (!metrics.some((m) => zero.has(m)) && !values.some((v) => v > 0)) found.notPositive.push(`${expr} = ${values.join(', ')}`);
  }
  // A quantile alone can hide an empty window: the histogram itself must have samples.
  for (const histogram of new Set(queries.flatMap((e) => e.match(/chorus_\w+(?=_bucket)/g) ?? []))) {
    const count = await prometheus.query(`sum(increase(${histogram}_count[5m]))`);
    if (!(Number((count.result as { value: [number, string] }[])[0]?.value[1] ?? 0) > 0)) found.unsampled.push(histogram);
  }
  for (const v of d.templating?.list ?? []) {
    const m = /^label_values\((\w+), (\w+)\)$/.exec(String(v.query));
    if (!m || (await prometheus.query(`count by (${m[2]}) (${m[1]})`)).result.length === 0) found.badVariables.push(`${v.name}: ${String(v.query)}`);
  }
  return found;
}
