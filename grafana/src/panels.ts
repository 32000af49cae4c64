// Small builders for the dashboards' panels, typed with Grafana's own schema
// types (@grafana/schema), so a misspelt field fails `tsc`.
import type { Dashboard, DataSourceRef, Panel, VariableModel } from '@grafana/schema';

export const prometheus: DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

export interface Query {
  expr: string;
  legend: string;
}

let nextId = 1;

/** A time series panel; `unit` is a Grafana unit id (bps, s, percentunit, …). */
export function timeseries(title: string, queries: Query[], unit: string, gridPos: Panel['gridPos'], description?: string): Panel {
  return {
    id: nextId++,
    type: 'timeseries',
    title,
    description,
    datasource: prometheus,
    gridPos,
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'none' } },
    targets: queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: prometheus,
      expr: q.expr,
      legendFormat: q.legend,
    })),
  };
}

/** A single big number. */
export function stat(title: string, expr: string, unit: string, gridPos: Panel['gridPos']): Panel {
  return {
    id: nextId++,
    type: 'stat',
    title,
    datasource: prometheus,
    gridPos,
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area' },
    targets: [{ refId: 'A', datasource: prometheus, expr, legendFormat: title }],
  };
}

export function dashboard(uid: string, title: string, description: string, panels: Panel[], extra: Partial<Dashboard> = {}): Dashboard {
  nextId = 1;
  return {
    uid,
    title,
    description,
    tags: ['chorus'],
    timezone: 'browser',
    editable: true,
    refresh: '10s',
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    panels,
    ...extra,
  };
}

/**
 * The `node` variable (cluster mode: every series carries `node`, the node's
 * id), "All" by default; on one node alone the label is absent and "All"
 * (`.*`) matches its series all the same.
 */
export function nodeVariable(metric: string): VariableModel {
  return {
    name: 'node',
    label: 'Node',
    type: 'query',
    datasource: prometheus,
    query: `label_values(${metric}, node)`,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
    refresh: 2,
  };
}

/** p50 and p95 of a histogram (optionally split by a label) over 5 minutes. */
export function quantiles(histogram: string, by = '', quantiles = [0.5, 0.95]): Query[] {
  const labels = by ? `le, ${by}` : 'le';
  return quantiles.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${labels}) (rate(${histogram}_bucket[5m])))`,
    legend: `p${Math.round(q * 100)}${by ? ` {{${by}}}` : ''}`,
  }));
}

/** Every PromQL expression of a dashboard (what the Prometheus test evaluates). */
export function queriesOf(d: Dashboard): string[] {
  return (d.panels ?? []).flatMap((p) => ('targets' in p ? (p.targets ?? []) : [])).map((t) => String((t as { expr?: string }).expr));
}
