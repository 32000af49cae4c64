// Every Prometheus metric Chorus exports. The only module that imports
// prom-client: the rest of the code records through the methods here.
//
// Conventions: names start with chorus_, carry their unit (_seconds, _bytes,
// _ratio), counters end in _total. Labels are bounded: worker (index) and
// direction (in = from clients, out = to clients; on cluster voices: from and
// to other nodes), error codes, a cluster room's role, never a
// participant; a room label only on chorus_room_participants, and only when
// metrics.perRoomLabels is on; in cluster mode every series has node (its id).
import client from 'prom-client';

export type Direction = 'in' | 'out';

/** What the gauges read at scrape time (from the worker pool and the rooms). */
export interface MediaState {
  workers(): {
    index: number;
    rooms: number;
    participants: number;
    producers: number;
    consumers: number;
    /** Consumers forwarding now (selected and resumed). */
    activeConsumers: number;
    /** Rooms of another worker with a router here too (they span workers). */
    spannedRooms: number;
    /** Producers of other routers piped to routers here (pipeToRouter). */
    pipedProducers: number;
  }[];
  /** Participants per room name (only read when per-room labels are on). */
  roomSizes(): Map<string, number>;
  /** Database writes waiting in memory. */
  queuedDbWrites(): number;
}

export interface MetricsOptions {
  perRoomLabels: boolean;
}

/** RTP stream statistics of one sample, already converted to our units. */
export interface StreamSample {
  worker: number;
  direction: Direction;
  /** New since the previous sample of this stream. */
  packets: number;
  bytes: number;
  packetsLost: number;
  nacks: number;
  /** 0..1, from the latest RTCP. */
  lossRatio: number;
  /** mediasoup score, 0..10. */
  score: number;
  jitterSeconds?: number;
  rttSeconds?: number;
}

/** A cluster node's view of itself (sfu/cluster/cluster.ts), read at scrape time. */
export interface ClusterMetricsState {
  nodeId: string;
  up(): boolean;
  liveNodes(): number;
  ownedRooms(): number;
  /** Rooms here spanning nodes (owned with satellites, satellites) and the voices crossing to (out) and from (in) other nodes. */
  spanning(): { ownerRooms: number; satelliteRooms: number; voicesOut: number; voicesIn: number };
}

export class Metrics {
  readonly registry = new client.Registry();

  readonly #rtpPackets: client.Counter<'worker' | 'direction'>;
  readonly #rtpBytes: client.Counter<'worker' | 'direction'>;
  readonly #rtpLost: client.Counter<'worker' | 'direction'>;
  readonly #nacks: client.Counter<'worker' | 'direction'>;
  readonly #loss: client.Histogram<'worker' | 'direction'>;
  readonly #score: client.Histogram<'worker' | 'direction'>;
  readonly #jitter: client.Histogram<'worker'>;
  readonly #rtt: client.Histogram<'worker'>;
  readonly #workerCpu: client.Counter<'worker'>;
  readonly #workerMemory: client.Gauge<'worker'>;
  readonly #joinDuration: client.Histogram;
  readonly #wsConnections: client.Gauge;
  readonly #wsMessages: client.Counter<'direction'>;
  readonly #wsErrors: client.Counter<'code'>;
  readonly #wsRefused: client.Counter<'reason'>;
  readonly #dbWrite: client.Histogram<'result'>;
  readonly #dbDropped: client.Counter;
  readonly #statsSample: client.Histogram;
  readonly #clusterPlacements: client.Counter<'where'>;
  readonly #clusterRedisErrors: client.Counter;
  readonly #clusterLeasesLost: client.Counter;
  readonly #clusterSatelliteTakeovers: client.Counter<'result'>;

  constructor(state: MediaState, { perRoomLabels }: MetricsOptions) {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: 'chorus_' });

    const perWorker = (
      name: string,
      help: string,
      pick: (w: ReturnType<MediaState['workers']>[number]) => number,
    ) =>
      new client.Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers,
        collect() {
          this.reset();
          for (const w of state.workers()) this.set({ worker: String(w.index) }, pick(w));
        },
      });
    perWorker('chorus_rooms', 'Open rooms, per worker of their primary router.', (w) => w.rooms);
    perWorker('chorus_spanned_rooms', 'Rooms of another worker that have a router here too, per worker.', (w) => w.spannedRooms);
    perWorker('chorus_piped_producers', 'Producers of other routers piped to routers here, per worker.', (w) => w.pipedProducers);
    perWorker('chorus_participants', 'Participants in rooms, per worker.', (w) => w.participants);
    perWorker('chorus_producers', 'Audio producers (one per speaking participant), per worker.', (w) => w.producers);
    perWorker('chorus_consumers', 'Consumers (forwarded or paused), per worker.', (w) => w.consumers);
    perWorker(
      'chorus_consumers_active',
      'Consumers forwarding now (selected by the forwarding policy), per worker.',
      (w) => w.activeConsumers,
    );
    if (perRoomLabels) {
      new client.Gauge({
        name: 'chorus_room_participants',
        help: 'Participants per room (metrics.perRoomLabels; unbounded cardinality).',
        labelNames: ['room'],
        registers,
        collect() {
          this.reset();
          for (const [room, n] of state.roomSizes()) this.set({ room }, n);
        },
      });
    }
    new client.Gauge({
      name: 'chorus_workers',
      help: 'Live mediasoup workers.',
      registers,
      collect() {
        this.set(state.workers().length);
      },
    });
    new client.Gauge({
      name: 'chorus_db_queued_writes',
      help: 'Database writes waiting in memory (grows while the database is unreachable).',
      registers,
      collect() {
        this.set(state.queuedDbWrites());
      },
    });

    const rtp = { labelNames: ['worker', 'direction'] as const, registers };
    this.#rtpPackets = new client.Counter({ name: 'chorus_rtp_packets_total', help: 'RTP packets (in: from clients, out: to clients).', ...rtp });
    this.#rtpBytes = new client.Counter({ name: 'chorus_rtp_bytes_total', help: 'RTP bytes (in: from clients, out: to clients).', ...rtp });
    this.#rtpLost = new client.Counter({
      name: 'chorus_rtp_packets_lost_total',
      help: 'RTP packets lost (in: seen missing by the server, out: reported missing by clients).',
      ...rtp,
    });
    this.#nacks = new client.Counter({ name: 'chorus_rtp_nacks_total', help: 'NACKs (in: sent by the server, out: received from clients).', ...rtp });
    this.#loss = new client.Histogram({
      name: 'chorus_rtp_loss_ratio',
      help: 'Fraction of packets lost per stream, per stats sample (0..1).',
      buckets: [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
      ...rtp,
    });
    this.#score = new client.Histogram({
      name: 'chorus_stream_score',
      help: "mediasoup's stream quality score per stream, per stats sample (0 bad .. 10 perfect).",
      buckets: [1, 3, 5, 7, 9, 10],
      ...rtp,
    });
    this.#jitter = new client.Histogram({
      name: 'chorus_rtp_jitter_seconds',
      help: 'Interarrival jitter of audio from clients, per stream, per stats sample.',
      labelNames: ['worker'],
      buckets: [0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2],
      registers,
    });
    this.#rtt = new client.Histogram({
      name: 'chorus_rtt_seconds',
      help: 'Round-trip time to clients (from RTCP), per stream, per stats sample.',
      labelNames: ['worker'],
      buckets: [0.001, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 1],
      registers,
    });
    this.#workerCpu = new client.Counter({
      name: 'chorus_worker_cpu_seconds_total',
      help: 'CPU time (user + system) used by each mediasoup worker process.',
      labelNames: ['worker'],
      registers,
    });
    this.#workerMemory = new client.Gauge({
      name: 'chorus_worker_memory_bytes',
      help: 'Resident memory of each mediasoup worker process.',
      labelNames: ['worker'],
      registers,
    });
    this.#joinDuration = new client.Histogram({
      name: 'chorus_join_duration_seconds',
      help: 'From a join request to the first audio packet to or from that participant.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.#wsConnections = new client.Gauge({ name: 'chorus_ws_connections', help: 'Open signaling WebSockets.', registers });
    this.#wsMessages = new client.Counter({
      name: 'chorus_ws_messages_total',
      help: 'Signaling messages (in: requests from clients, out: responses and notifications).',
      labelNames: ['direction'],
      registers,
    });
    this.#wsErrors = new client.Counter({
      name: 'chorus_ws_errors_total',
      help: 'Signaling requests answered with an error, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.#wsRefused = new client.Counter({
      name: 'chorus_ws_refused_total',
      help:
        'WebSockets refused or closed by the front door, and requests refused by its rate limit, by reason ' +
        '(origin, addressLimit, joinTimeout, rateLimited, rateLimitClose, slowConsumer).',
      labelNames: ['reason'],
      registers,
    });
    this.#dbWrite = new client.Histogram({
      name: 'chorus_db_write_duration_seconds',
      help: 'Database writes of session records, by result (ok, retry, failed).',
      labelNames: ['result'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.#dbDropped = new client.Counter({
      name: 'chorus_db_dropped_writes_total',
      help: 'Database writes dropped (queue full, or refused by the database).',
      registers,
    });
    this.#statsSample = new client.Histogram({
      name: 'chorus_stats_sample_duration_seconds',
      help: 'How long one round of sampling mediasoup statistics took.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    });
    this.#clusterPlacements = new client.Counter({
      name: 'chorus_cluster_placements_total',
      help: 'Cluster mode: new rooms this node placed (here, elsewhere: on another node) and dead nodes\' rooms it took over (takeover).',
      labelNames: ['where'],
      registers,
    });
    this.#clusterRedisErrors = new client.Counter({
      name: 'chorus_cluster_redis_errors_total',
      help: 'Cluster mode: failed Redis commands and connection errors.',
      registers,
    });
    this.#clusterLeasesLost = new client.Counter({
      name: 'chorus_cluster_leases_lost_total',
      help: 'Cluster mode: rooms open here whose lease another node held at renewal (closed here; clients rejoin there).',
      registers,
    });
    this.#clusterSatelliteTakeovers = new client.Counter({
      name: 'chorus_cluster_satellite_takeovers_total',
      help:
        'Cluster mode: satellites here whose owner node died, by result: won (this node took the room over, ' +
        'its people kept their call), lost (another node has the room: closed here, its people rejoin there).',
      labelNames: ['result'],
      registers,
    });
    // Series with no sample yet still appear (dashboards and alerts see zeros, not gaps).
    for (const direction of ['in', 'out'] as const) {
      for (const c of [this.#rtpPackets, this.#rtpBytes, this.#rtpLost, this.#nacks]) c.inc({ worker: '0', direction }, 0);
    }
    for (const code of ['INVALID_MESSAGE', 'NOT_JOINED', 'INTERNAL']) this.#wsErrors.inc({ code }, 0);
    for (const reason of ['origin', 'addressLimit', 'joinTimeout', 'rateLimited', 'rateLimitClose', 'slowConsumer']) {
      this.#wsRefused.inc({ reason }, 0);
    }
    this.#dbDropped.inc(0);
  }

  /**
   * Cluster mode: node gauges read from `state` at scrape time (registered once, by the composition root),
   * and a `node` label (the node id, as in Redis and the session rows) on every series: Prometheus's own
   * `instance` is the scrape address, which says nothing of the node (a pod's IP changes with every restart).
   */
  watchCluster(state: ClusterMetricsState): void {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: state.nodeId });
    new client.Gauge({
      name: 'chorus_cluster_node_up',
      help: 'Cluster mode: 1 while this node\'s heartbeat is in Redis, else 0.',
      labelNames: ['node'],
      registers,
      collect() {
        this.set({ node: state.nodeId }, state.up() ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'chorus_cluster_nodes',
      help: 'Cluster mode: live nodes this node saw in Redis at its last heartbeat (itself included).',
      registers,
      collect() {
        this.set(state.liveNodes());
      },
    });
    new client.Gauge({
      name: 'chorus_cluster_owned_rooms',
      help: 'Cluster mode: rooms whose lease this node holds.',
      registers,
      collect() {
        this.set(state.ownedRooms());
      },
    });
    new client.Gauge({
      name: 'chorus_cluster_spanning_rooms',
      help: 'Cluster mode: rooms here that span nodes, by role (owner: owned here, with a satellite on another node; satellite: attached to a room another node owns).',
      labelNames: ['role'],
      registers,
      collect() {
        const { ownerRooms, satelliteRooms } = state.spanning();
        this.set({ role: 'owner' }, ownerRooms);
        this.set({ role: 'satellite' }, satelliteRooms);
      },
    });
    new client.Gauge({
      name: 'chorus_cluster_voices',
      help: 'Cluster mode: voices crossing between nodes in rooms spanning nodes (out: sent to other nodes now; in: piped here from other nodes).',
      labelNames: ['direction'],
      registers,
      collect() {
        const { voicesOut, voicesIn } = state.spanning();
        this.set({ direction: 'out' }, voicesOut);
        this.set({ direction: 'in' }, voicesIn);
      },
    });
    for (const where of ['here', 'elsewhere', 'takeover']) this.#clusterPlacements.inc({ where }, 0);
    for (const code of ['WRONG_NODE', 'CLUSTER_UNAVAILABLE']) this.#wsErrors.inc({ code }, 0);
    this.#clusterRedisErrors.inc(0);
    this.#clusterLeasesLost.inc(0);
    for (const result of ['won', 'lost']) this.#clusterSatelliteTakeovers.inc({ result }, 0);
  }

  clusterPlacement(where: 'here' | 'elsewhere' | 'takeover'): void {
    this.#clusterPlacements.inc({ where });
  }

  clusterRedisError(): void {
    this.#clusterRedisErrors.inc();
  }

  clusterLeaseLost(): void {
    this.#clusterLeasesLost.inc();
  }

  clusterSatelliteTakeover(result: 'won' | 'lost'): void {
    this.#clusterSatelliteTakeovers.inc({ result });
  }

  recordStream(s: StreamSample): void {
    const labels = { worker: String(s.worker), direction: s.direction };
    this.#rtpPackets.inc(labels, s.packets);
    this.#rtpBytes.inc(labels, s.bytes);
    this.#rtpLost.inc(labels, s.packetsLost);
    this.#nacks.inc(labels, s.nacks);
    this.#loss.observe(labels, s.lossRatio);
    this.#score.observe(labels, s.score);
    if (s.jitterSeconds !== undefined) this.#jitter.observe({ worker: labels.worker }, s.jitterSeconds);
    if (s.rttSeconds !== undefined) this.#rtt.observe({ worker: labels.worker }, s.rttSeconds);
  }

  recordWorkerUsage(worker: number, cpuSecondsDelta: number, memoryBytes: number): void {
    this.#workerCpu.inc({ worker: String(worker) }, cpuSecondsDelta);
    this.#workerMemory.set({ worker: String(worker) }, memoryBytes);
  }

  forgetWorker(worker: number): void {
    this.#workerMemory.remove({ worker: String(worker) });
  }

  recordJoinDuration(seconds: number): void {
    this.#joinDuration.observe(seconds);
  }

  recordStatsSample(seconds: number): void {
    this.#statsSample.observe(seconds);
  }

  wsConnection(delta: 1 | -1): void {
    this.#wsConnections.inc(delta);
  }

  wsMessage(direction: Direction): void {
    this.#wsMessages.inc({ direction });
  }

  wsError(code: string): void {
    this.#wsErrors.inc({ code });
  }

  /** The front door refused a socket or a request; `reason` is one of a fixed few. */
  wsRefused(reason: string): void {
    this.#wsRefused.inc({ reason });
  }

  dbWrite(result: 'ok' | 'retry' | 'failed', seconds: number): void {
    this.#dbWrite.observe({ result }, seconds);
  }

  dbDropped(): void {
    this.#dbDropped.inc();
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
