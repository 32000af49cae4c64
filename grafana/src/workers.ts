import { dashboard, timeseries } from './panels.ts';
import { nodeVariable, prometheus } from './panels.ts';

const at = (y: number, x: number) => ({ x, y, w: 12, h: 8 });
/** Workers are numbered per node: in a cluster, `node` tells them apart. */
const w = '{worker=~"$worker",node=~"$node"}';

/** For people scaling workers per core: load and cost of each mediasoup worker. */
export const workers = dashboard(
  'chorus-workers',
  'Chorus: workers',
  'Per mediasoup worker (one per core): CPU, memory, what runs on it, and CPU per forwarded packet.',
  [
    timeseries('CPU per worker', [{ expr: `rate(chorus_worker_cpu_seconds_total${w}[1m])`, legend: '{{node}} worker {{worker}}' }], 'percentunit', at(0, 0)),
    timeseries('Memory per worker', [{ expr: `chorus_worker_memory_bytes${w}`, legend: '{{node}} worker {{worker}}' }], 'bytes', at(0, 12)),
    timeseries(
      'Rooms and participants per worker',
      [
        { expr: `chorus_rooms${w}`, legend: 'rooms, {{node}} worker {{worker}}' },
        { expr: `chorus_participants${w}`, legend: 'participants, {{node}} worker {{worker}}' },
      ],
      'short',
      at(8, 0),
    ),
    timeseries(
      'Consumers per worker',
      [
        { expr: `chorus_consumers${w}`, legend: 'all, {{node}} worker {{worker}}' },
        { expr: `chorus_consumers_active${w}`, legend: 'forwarding, {{node}} worker {{worker}}' },
      ],
      'short',
      at(8, 12),
    ),
    timeseries(
      'Forwarded packets per second',
      [{ expr: `sum by (node, worker) (rate(chorus_rtp_packets_total{direction="out",worker=~"$worker",node=~"$node"}[1m]))`, legend: '{{node}} worker {{worker}}' }],
      'pps',
      at(16, 0),
    ),
    timeseries(
      'Worker CPU per forwarded packet',
      [
        {
          expr: `sum by (node, worker) (rate(chorus_worker_cpu_seconds_total${w}[1m])) / clamp_min(sum by (node, worker) (rate(chorus_rtp_packets_total{direction="out",worker=~"$worker",node=~"$node"}[1m])), 1)`,
          legend: '{{node}} worker {{worker}}',
        },
      ],
      's',
      at(16, 12),
    ),
  ],
  {
    templating: {
      list: [
        {
          name: 'worker',
          label: 'Worker',
          type: 'query',
          datasource: prometheus,
          query: 'label_values(chorus_rooms, worker)',
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: { text: 'All', value: '$__all' },
          refresh: 2,
        },
        nodeVariable('chorus_rooms'),
      ],
    },
  },
);
