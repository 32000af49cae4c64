import { dashboard, timeseries } from './panels.ts';
import { prometheus } from './panels.ts';

const at = (y: number, x: number) => ({ x, y, w: 12, h: 8 });
const w = '{worker=~"$worker"}';

/** For people scaling workers per core: load and cost of each mediasoup worker. */
export const workers = dashboard(
  'chorus-workers',
  'Chorus: workers',
  'Per mediasoup worker (one per core): CPU, memory, what runs on it, and CPU per forwarded packet.',
  [
    timeseries('CPU per worker', [{ expr: `rate(chorus_worker_cpu_seconds_total${w}[1m])`, legend: 'worker {{worker}}' }], 'percentunit', at(0, 0)),
    timeseries('Memory per worker', [{ expr: `chorus_worker_memory_bytes${w}`, legend: 'worker {{worker}}' }], 'bytes', at(0, 12)),
    timeseries(
      'Rooms and participants per worker',
      [
        { expr: `chorus_rooms${w}`, legend: 'rooms, worker {{worker}}' },
        { expr: `chorus_participants${w}`, legend: 'participants, worker {{worker}}' },
      ],
      'short',
      at(8, 0),
    ),
    timeseries(
      'Consumers per worker',
      [
        { expr: `chorus_consumers${w}`, legend: 'all, worker {{worker}}' },
        { expr: `chorus_consumers_active${w}`, legend: 'forwarding, worker {{worker}}' },
      ],
      'short',
      at(8, 12),
    ),
    timeseries(
      'Forwarded packets per second',
      [{ expr: `sum by (worker) (rate(chorus_rtp_packets_total{direction="out",worker=~"$worker"}[1m]))`, legend: 'worker {{worker}}' }],
      'pps',
      at(16, 0),
    ),
    timeseries(
      'Worker CPU per forwarded packet',
      [
        {
          expr: `sum by (worker) (rate(chorus_worker_cpu_seconds_total${w}[1m])) / clamp_min(sum by (worker) (rate(chorus_rtp_packets_total{direction="out",worker=~"$worker"}[1m])), 1)`,
          legend: 'worker {{worker}}',
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
      ],
    },
  },
);
