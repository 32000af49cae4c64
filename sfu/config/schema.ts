// The shape of Chorus's configuration. Defaults and documentation live in
// config/default.yaml; this schema only says what is valid. Every object is
// strict, so an unknown (e.g. misspelt) key is an error, not silently ignored.
import { z } from 'zod';

const logLevel = z.enum(['debug', 'info', 'warn', 'error']);

/** Requests per client address to one HTTP route, a token bucket. */
const httpRateLimit = z.strictObject({
  requestsPerSecond: z.number().min(0.01).max(10_000),
  requestBurst: z.number().int().min(1).max(100_000),
});

export const configSchema = z.strictObject({
  http: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    rateLimits: z.strictObject({ devToken: httpRateLimit, admin: httpRateLimit }),
  }),
  media: z.strictObject({
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]),
    listenIp: z.union([z.ipv4(), z.ipv6()]),
    announcedAddress: z.string().min(1),
    rtcPortBase: z.number().int().min(0).max(65535),
    workerLogLevel: z.enum(['debug', 'warn', 'error', 'none']),
    workerRestarts: z.strictObject({
      max: z.number().int().min(0).max(1000),
      windowMs: z.number().int().min(1000).max(86_400_000),
    }),
    healthCheck: z.strictObject({
      intervalMs: z.number().int().min(0).max(600_000),
      timeoutMs: z.number().int().min(100).max(600_000),
    }),
    maxConsumersPerWorker: z.number().int().min(1).max(1_000_000),
  }),
  rooms: z.strictObject({
    emptyRoomCloseDelayMs: z.number().int().min(0).max(3_600_000),
    maxParticipants: z.number().int().min(1).max(10_000),
    forwardK: z.number().int().min(0).max(100),
    speakerHoldMs: z.number().int().min(0).max(60_000),
    moveWaitMs: z.number().int().min(0).max(60_000),
    maxConsumersPerListener: z.number().int().min(1).max(10_000),
  }),
  audio: z
    .strictObject({
      maxBitrate: z.number().int().min(6000).max(510_000),
      maxIncomingBitrate: z.number().int().min(6000).max(10_000_000),
      speakingThresholdDbov: z.number().int().min(-127).max(0),
      levelIntervalMs: z.number().int().min(250).max(5_000),
    })
    .refine((a) => a.maxIncomingBitrate >= a.maxBitrate, {
      message: 'audio.maxIncomingBitrate must be at least audio.maxBitrate (it also carries packet overhead and FEC)',
      path: ['maxIncomingBitrate'],
    }),
  signaling: z.strictObject({
    maxMessageBytes: z.number().int().min(1024).max(16 * 1024 * 1024),
    resumeGraceMs: z.number().int().min(0).max(600_000),
    // The front door (sfu/signaling/frontDoor.ts).
    allowedOrigins: z.array(
      z.union([
        z.literal('*'),
        z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin is scheme://host[:port], with no path (or "*")'),
      ]),
    ),
    trustProxy: z.boolean(),
    maxSocketsPerAddress: z.number().int().min(1).max(100_000),
    joinTimeoutMs: z.number().int().min(1_000).max(600_000),
    requestsPerSecond: z.number().min(1).max(10_000),
    requestBurst: z.number().int().min(10).max(100_000),
    maxBufferedBytes: z.number().int().min(64 * 1024).max(256 * 1024 * 1024),
  }),
  turn: z
    .strictObject({
      urls: z.array(z.string().regex(/^turns?:[^\s]+$/, 'TURN URLs start with turn: or turns:')),
      secret: z.string(),
      ttlSeconds: z.number().int().min(60).max(7 * 24 * 3600),
    })
    .refine((t) => t.urls.length === 0 || t.secret !== '', {
      message: 'set turn.secret (CHORUS_TURN_SECRET) to the TURN server\'s static-auth-secret',
      path: ['secret'],
    }),
  auth: z
    .strictObject({
      secret: z.union([z.literal(''), z.string().min(32, 'use a secret of at least 32 characters')]),
      devTokens: z.boolean(),
      devTokenTtlSeconds: z.number().int().min(60).max(7 * 24 * 3600),
    })
    .refine((a) => a.secret !== '' || a.devTokens, {
      message: 'set auth.secret (CHORUS_AUTH_SECRET): it is required when auth.devTokens is off',
      path: ['secret'],
    }),
  admin: z.strictObject({
    secret: z.union([z.literal(''), z.string().min(16, 'use a secret of at least 16 characters')]),
  }),
  database: z.strictObject({
    url: z.union([z.literal(''), z.url({ protocol: /^postgres(ql)?$/ })]),
    embeddedDataDir: z.string().min(1),
    maxQueuedWrites: z.number().int().min(100),
    maxQueueBytes: z.number().int().min(65_536),
  }),
  metrics: z.strictObject({
    statsIntervalMs: z.number().int().min(250).max(600_000),
    perRoomLabels: z.boolean(),
    qualityWriteIntervalMs: z.number().int().min(1_000).max(3_600_000),
  }),
  /** Several nodes sharing Redis (sfu/cluster/): on when redisUrl is set. */
  cluster: z.strictObject({
    redisUrl: z.union([z.literal(''), z.url({ protocol: /^rediss?$/ })]),
    publicUrl: z.union([z.literal(''), z.url({ protocol: /^https?$/ }).regex(/^[^?#]*$/, 'no query or fragment')]),
    nodeId: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-", at most 64')]),
    heartbeatMs: z.number().int().min(100).max(60_000),
    nodeTtlMs: z.number().int().min(300).max(600_000),
    leaseMs: z.number().int().min(500).max(600_000),
    // Rooms across nodes (sfu/cluster/octo.ts).
    maxParticipantsPerNodePerRoom: z.number().int().min(0).max(100_000),
    pipeListenIp: z.union([z.literal(''), z.ipv4(), z.ipv6()]),
    pipeAnnouncedAddress: z.string(),
  }),
  log: z.strictObject({ level: logLevel }),
  /** SIGTERM (or an uncaught exception): drain, flush, exit; exit anyway after this long. */
  shutdownTimeoutMs: z.number().int().min(1_000).max(600_000),
})
  // Cluster mode: every node must verify every other node's tokens, and tell browsers where it is.
  .refine((c) => c.cluster.redisUrl === '' || c.auth.secret !== '', {
    message: 'set auth.secret (CHORUS_AUTH_SECRET), the same on every node: it is required in cluster mode (cluster.redisUrl)',
    path: ['auth', 'secret'],
  })
  .refine((c) => c.cluster.redisUrl === '' || c.cluster.publicUrl !== '', {
    message: 'set cluster.publicUrl (CHORUS_PUBLIC_URL), the address browsers use for this node: it is required in cluster mode',
    path: ['cluster', 'publicUrl'],
  })
  .refine((c) => c.cluster.nodeTtlMs > c.cluster.heartbeatMs && c.cluster.leaseMs > c.cluster.heartbeatMs, {
    message: 'cluster.nodeTtlMs and cluster.leaseMs must be longer than cluster.heartbeatMs (they are renewed every heartbeat)',
    path: ['cluster', 'heartbeatMs'],
  });

export type Config = z.infer<typeof configSchema>;
export type LogLevel = z.infer<typeof logLevel>;
