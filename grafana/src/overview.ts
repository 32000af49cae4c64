import { dashboard, quantiles, stat, timeseries } from './panels.ts';

const row = (y: number, x: number, w = 12, h = 8) => ({ x, y, w, h });

/** The operators' overview: how many people, how much audio, how good, how fast (in a cluster: of every node together). */
export const overview = dashboard('chorus-overview', 'Chorus: overview', 'Rooms, participants, audio quality and load of all Chorus workers.', [
  stat('Rooms', 'sum(chorus_rooms)', 'short', row(0, 0, 4, 4)),
  stat('Participants', 'sum(chorus_participants)', 'short', row(0, 4, 4, 4)),
  stat('Forwarded streams', 'sum(chorus_consumers_active)', 'short', row(0, 8, 4, 4)),
  stat('Workers', 'sum(chorus_workers)', 'short', row(0, 12, 4, 4)),
  stat('Queued DB writes', 'sum(chorus_db_queued_writes)', 'short', row(0, 16, 4, 4)),
  stat('WebSockets', 'sum(chorus_ws_connections)', 'short', row(0, 20, 4, 4)),
  timeseries(
    'Bitrate',
    [{ expr: 'sum by (direction) (rate(chorus_rtp_bytes_total[1m])) * 8', legend: '{{direction}}' }],
    'bps',
    row(4, 0),
    'RTP audio: in = from clients, out = forwarded to clients.',
  ),
  timeseries('Packets per second', [{ expr: 'sum by (direction) (rate(chorus_rtp_packets_total[1m]))', legend: '{{direction}}' }], 'pps', row(4, 12)),
  timeseries(
    'Packet loss',
    [
      {
        expr: 'sum by (direction) (rate(chorus_rtp_packets_lost_total[5m])) / clamp_min(sum by (direction) (rate(chorus_rtp_packets_total[5m])), 1)',
        legend: 'lost / sent, {{direction}}',
      },
      {
        expr: 'histogram_quantile(0.95, sum by (le, direction) (rate(chorus_rtp_loss_ratio_bucket[5m])))',
        legend: 'p95 per stream, {{direction}}',
      },
    ],
    'percentunit',
    row(12, 0),
  ),
  timeseries(
    'Jitter (from clients)',
    quantiles('chorus_rtp_jitter_seconds'),
    's',
    row(12, 12),
  ),
  timeseries(
    'Round-trip time (to clients)',
    quantiles('chorus_rtt_seconds'),
    's',
    row(20, 0),
  ),
  timeseries(
    'Join latency (request → first audio)',
    quantiles('chorus_join_duration_seconds'),
    's',
    row(20, 12),
  ),
  timeseries('Worker CPU', [{ expr: 'rate(chorus_worker_cpu_seconds_total[1m])', legend: '{{node}} worker {{worker}}' }], 'percentunit', row(28, 0)),
  timeseries(
    'Stream quality score (mediasoup, 0..10)',
    [{ expr: 'histogram_quantile(0.05, sum by (le, direction) (rate(chorus_stream_score_bucket[5m])))', legend: 'p5 {{direction}}' }],
    'short',
    row(28, 12),
  ),
  timeseries(
    'Signaling errors',
    [{ expr: 'sum by (code) (rate(chorus_ws_errors_total[5m]))', legend: '{{code}}' }],
    'reqps',
    row(36, 0),
  ),
  timeseries(
    'Database writes',
    [
      { expr: 'histogram_quantile(0.95, sum by (le) (rate(chorus_db_write_duration_seconds_bucket[5m])))', legend: 'p95 write' },
      { expr: 'sum(rate(chorus_db_dropped_writes_total[5m]))', legend: 'dropped/s' },
    ],
    's',
    row(36, 12),
  ),
]);
