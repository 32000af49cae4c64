import { dashboard, nodeVariable, stat, timeseries } from './panels.ts';

const at = (y: number, x: number, w = 12, h = 8) => ({ x, y, w, h });
/** Every series carries `node` in cluster mode (Metrics.watchCluster). */
const n = 'node=~"$node"';

/**
 * For people running several nodes on one Redis (README, Running a cluster): which nodes
 * are alive, where rooms and people are, where new rooms went, rooms spread over workers
 * and over nodes (what crosses, satellites that took a dead owner's room over), and the
 * cluster store's health. Its metrics exist only in cluster mode.
 */
export const cluster = dashboard(
  'chorus-cluster',
  'Chorus: cluster',
  'Cluster mode: nodes, rooms and participants per node, placements and redirects, rooms spanning workers, Redis errors, leases lost, rooms spanning nodes, voices crossing nodes, satellite takeovers.',
  [
    stat('Nodes with a heartbeat', 'sum(chorus_cluster_node_up)', 'short', at(0, 0, 6, 4)),
    stat('Live nodes seen (fewest)', 'min(chorus_cluster_nodes)', 'short', at(0, 6, 6, 4)),
    stat('Rooms (leases held)', 'sum(chorus_cluster_owned_rooms)', 'short', at(0, 12, 6, 4)),
    stat('Participants', 'sum(chorus_participants)', 'short', at(0, 18, 6, 4)),
    timeseries(
      'Nodes',
      [
        { expr: `chorus_cluster_node_up{${n}}`, legend: 'heartbeat in Redis, {{node}}' },
        { expr: `chorus_cluster_nodes{${n}}`, legend: 'live nodes seen by {{node}}' },
      ],
      'short',
      at(4, 0),
      'A node whose heartbeat is gone is dead to the others after cluster.nodeTtlMs: its rooms are taken over. Nodes that disagree on the live count see Redis differently.',
    ),
    timeseries(
      'Rooms per node',
      [
        { expr: `chorus_cluster_owned_rooms{${n}}`, legend: 'leases held, {{node}}' },
        { expr: `sum by (node) (chorus_rooms{${n}})`, legend: 'open, {{node}}' },
      ],
      'short',
      at(4, 12),
    ),
    timeseries(
      'Participants per node',
      [{ expr: `sum by (node) (chorus_participants{${n}})`, legend: '{{node}}' }],
      'short',
      at(12, 0),
      'Where their media lives. New rooms go to the node with the fewest participants.',
    ),
    timeseries(
      'Worker CPU per node',
      [{ expr: `sum by (node) (rate(chorus_worker_cpu_seconds_total{${n}}[1m]))`, legend: '{{node}}' }],
      'percentunit',
      at(12, 12),
      'All workers of a node together (1 = one core busy).',
    ),
    timeseries(
      'Placements (per 5 min)',
      [{ expr: `sum by (node, where) (increase(chorus_cluster_placements_total{${n}}[5m]))`, legend: '{{where}}, by {{node}}' }],
      'short',
      at(20, 0),
      'New rooms a node placed on itself (here) or on another node (elsewhere), and dead nodes\' rooms it took over (takeover).',
    ),
    timeseries(
      'Joins redirected or refused (per second)',
      [
        { expr: `sum by (node) (rate(chorus_ws_errors_total{code="WRONG_NODE",${n}}[5m]))`, legend: 'sent to the room\'s node, by {{node}}' },
        { expr: `sum by (node) (rate(chorus_ws_errors_total{code="CLUSTER_UNAVAILABLE",${n}}[5m]))`, legend: 'refused, Redis unreachable, {{node}}' },
      ],
      'reqps',
      at(20, 12),
      'WRONG_NODE: the client follows to the room\'s node. CLUSTER_UNAVAILABLE: a new room refused while Redis is unreachable (or just back).',
    ),
    timeseries(
      'Rooms spanning workers',
      [
        { expr: `sum by (node) (chorus_spanned_rooms{${n}})`, legend: 'rooms with a second router, {{node}}' },
        { expr: `sum by (node) (chorus_piped_producers{${n}})`, legend: 'piped producers, {{node}}' },
      ],
      'short',
      at(28, 0),
      'A room whose worker reached media.maxConsumersPerWorker has routers on other workers; the voices needed there are piped over.',
    ),
    timeseries(
      'Redis errors and leases lost (per 5 min)',
      [
        { expr: `sum by (node) (increase(chorus_cluster_redis_errors_total{${n}}[5m]))`, legend: 'Redis errors, {{node}}' },
        { expr: `sum by (node) (increase(chorus_cluster_leases_lost_total{${n}}[5m]))`, legend: 'leases lost, {{node}}' },
      ],
      'short',
      at(28, 12),
      'A lease lost: another node held the lease of a room open here (this node was cut off from Redis for longer than cluster.leaseMs); the room closed here and its clients rejoined there.',
    ),
    timeseries(
      'Rooms spanning nodes',
      [
        { expr: `sum by (node) (chorus_cluster_spanning_rooms{role="owner",${n}})`, legend: 'owned, with satellites elsewhere, {{node}}' },
        { expr: `sum by (node) (chorus_cluster_spanning_rooms{role="satellite",${n}})`, legend: 'satellites of rooms elsewhere, {{node}}' },
      ],
      'short',
      at(36, 0),
      'A room at cluster.maxParticipantsPerNodePerRoom on its owner sends further joiners to a satellite on another node; the forwarded voices cross between them.',
    ),
    timeseries(
      'Voices crossing nodes',
      [
        { expr: `sum by (node) (chorus_cluster_voices{direction="out",${n}})`, legend: 'sent to other nodes, {{node}}' },
        { expr: `sum by (node) (chorus_cluster_voices{direction="in",${n}})`, legend: 'from other nodes, {{node}}' },
      ],
      'short',
      at(36, 12),
      'Sent: voices of people here that flow to other nodes now (one per voice and node, however many listen there). From: voices of people elsewhere piped here.',
    ),
    timeseries(
      'Satellite takeovers (per 5 min)',
      [{ expr: `sum by (node, result) (increase(chorus_cluster_satellite_takeovers_total{${n}}[5m]))`, legend: '{{result}}, {{node}}' }],
      'short',
      at(44, 0),
      "A satellite whose owner node died: won, it took the room over and its people kept their call (the owner's rejoin into it); lost, another node has the room, its people rejoined there.",
    ),
  ],
  {
    templating: {
      list: [
        nodeVariable('chorus_cluster_node_up'),
      ],
    },
  },
);
