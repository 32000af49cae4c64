// The WebSocket endpoint (/ws). Each connection gets a PeerSession; this module
// only moves frames: text in → session, messages out → JSON text. Connections
// that stop answering pings are closed. It applies the front door's limits
// (frontDoor.ts): allowed origins and sockets per address at the upgrade, a
// join deadline, the request rate, and a bound on what waits to be sent.
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenService } from '../auth/tokens.ts';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { SIGNALING_PATH } from '../../protocol/messages.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import {
  AddressCounter,
  clientAddress,
  closeCodes,
  type FrontDoorOptions,
  KeyedBuckets,
  originAllowed,
  TokenBucket,
} from './frontDoor.ts';
import { PeerSession, type ResumableSessions, type SessionOptions } from './peerSession.ts';

export interface SignalingOptions extends SessionOptions, FrontDoorOptions {
  /** How often to ping; a connection that has not answered the previous ping is closed. */
  heartbeatMs?: number;
  /** A socket that has neither joined nor resumed this long after opening is closed (ms). */
  joinTimeoutMs: number;
  /** A socket with more than this many bytes waiting to be sent is closed. */
  maxBufferedBytes: number;
  /** Cluster mode: the origins of every node's pages, allowed too (a page of one node follows WRONG_NODE to another). */
  clusterOrigins?: () => string[];
}

interface Connection {
  session: PeerSession;
  answeredPing: boolean;
  /** Until joined, the socket's own request bucket; then its identity's. */
  bucket: TokenBucket;
  /** Why we closed it, when we did (decides whether its participant may resume). */
  closedFor?: 'slowConsumer' | 'rateLimit';
}

export class SignalingServer {
  readonly #wss: WebSocketServer;
  readonly #connections = new Map<WebSocket, Connection>();
  readonly #heartbeat: NodeJS.Timeout;
  /** Joined participants by id, whichever socket carries them (or none, during a resume grace). */
  readonly #resumable: ResumableSessions = new Map();
  readonly #addresses: AddressCounter;
  readonly #identityBuckets: KeyedBuckets;

  constructor(server: Server, registry: RoomRegistry, tokens: TokenService, options: SignalingOptions, log: Logger) {
    const metrics = options.metrics;
    this.#addresses = new AddressCounter(options.maxSocketsPerAddress);
    this.#identityBuckets = new KeyedBuckets(options.requestsPerSecond, options.requestBurst);
    // Frames up to 16× the message limit are read so that the client gets a
    // MESSAGE_TOO_LARGE answer; beyond that ws closes the socket (code 1009).
    this.#wss = new WebSocketServer({
      server,
      path: SIGNALING_PATH,
      maxPayload: options.maxMessageBytes * 16,
      // Before the upgrade: a page from another site (403), too many sockets from one address (429).
      verifyClient: ({ origin, req }, done) => {
        const fromNode = origin !== undefined && (options.clusterOrigins?.().includes(origin) ?? false);
        if (!fromNode && !originAllowed(origin, req.headers.host, options.allowedOrigins)) {
          metrics?.wsRefused('origin');
          log.info('WebSocket refused: origin not allowed', { origin });
          return done(false, 403, 'Origin not allowed');
        }
        const address = clientAddress(req, options.trustProxy);
        if (!this.#addresses.tryOpen(address)) {
          metrics?.wsRefused('addressLimit');
          log.info('WebSocket refused: too many sockets from one address', { address });
          return done(false, 429, 'Too many connections from this address');
        }
        // Counted until the TCP connection closes, whether or not the upgrade completes.
        req.socket.once('close', () => this.#addresses.release(address));
        done(true);
      },
    });
    this.#wss.on('connection', (ws) => {
      const send = (msg: unknown) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify(msg));
        metrics?.wsMessage('out');
        // A client that does not read: close it rather than hold what it does not take.
        if (ws.bufferedAmount > options.maxBufferedBytes) {
          conn.closedFor = 'slowConsumer';
          metrics?.wsRefused('slowConsumer');
          log.info('closing a socket that does not read', { buffered: ws.bufferedAmount });
          ws.close(closeCodes.slowConsumer, 'too much unread data');
        }
      };
      metrics?.wsConnection(1);
      // A socket must join (or resume) within joinTimeoutMs of opening, and again of leaving.
      let joinDeadline: NodeJS.Timeout | undefined;
      const armJoinDeadline = () => {
        clearTimeout(joinDeadline);
        joinDeadline = setTimeout(() => {
          if (conn.session.inCall || ws.readyState !== ws.OPEN) return;
          metrics?.wsRefused('joinTimeout');
          ws.close(closeCodes.joinTimeout, 'join or resume first');
        }, options.joinTimeoutMs);
        joinDeadline.unref();
      };
      const conn: Connection = {
        session: new PeerSession(registry, tokens, send, options, log, this.#resumable, {
          disconnect: () => ws.close(closeCodes.resumedElsewhere, 'resumed on another connection'),
          idle: armJoinDeadline,
        }),
        answeredPing: true,
        bucket: new TokenBucket(options.requestsPerSecond, options.requestBurst, Date.now()),
      };
      this.#connections.set(ws, conn);
      armJoinDeadline();
      ws.on('pong', () => (conn.answeredPing = true));
      ws.on('message', (data, isBinary) => {
        metrics?.wsMessage('in');
        if (ws.readyState !== ws.OPEN) return;
        // Binary frames are not part of the protocol; this text fails as BAD_JSON.
        const text = isBinary ? '<binary frame>' : data.toString();
        const verdict = this.#bucketOf(conn).take(Date.now());
        if (verdict === 'ok') return void conn.session.receive(text);
        metrics?.wsRefused(verdict === 'close' ? 'rateLimitClose' : 'rateLimited');
        const wait = Math.ceil(-conn.bucket.balance(Date.now()) / options.requestsPerSecond);
        void conn.session.receive(text, new ChorusError('RATE_LIMITED', `too many requests: wait ${wait} s`));
        if (verdict === 'close') {
          conn.closedFor = 'rateLimit';
          log.info('closing a socket that kept going past the rate limit', { identity: conn.session.identity });
          ws.close(closeCodes.rateLimit, 'too many requests');
        }
      });
      ws.on('close', (code) => {
        clearTimeout(joinDeadline);
        metrics?.wsConnection(-1);
        this.#connections.delete(ws);
        if (conn.session.identity) this.#identityBuckets.touch(conn.session.identity, Date.now());
        // A client that closes its socket (a close frame: the page went away, the
        // app closed it) has left; a connection that broke (1006: no close frame,
        // e.g. a reset, a NAT timeout, or no answer to our pings) may be resumed,
        // and so may one we closed for not reading (its network stalled). One we
        // closed for flooding us leaves at once.
        const resumable = conn.closedFor === 'slowConsumer' || (code === 1006 && conn.closedFor !== 'rateLimit');
        conn.session.close({ resumable });
      });
      ws.on('error', (err) => log.debug('socket error', { error: err }));
    });
    this.#heartbeat = setInterval(() => {
      this.#identityBuckets.sweep(Date.now());
      for (const [ws, conn] of this.#connections) {
        if (!conn.answeredPing) {
          ws.terminate();
          continue;
        }
        conn.answeredPing = false;
        ws.ping();
      }
    }, options.heartbeatMs ?? 15_000);
    this.#heartbeat.unref();
  }

  /** The socket's request bucket: its own until it joins, then its identity's (shared with earlier sockets). */
  #bucketOf(conn: Connection): TokenBucket {
    const identity = conn.session.identity;
    if (identity !== undefined) conn.bucket = this.#identityBuckets.claim(identity, conn.bucket, Date.now());
    return conn.bucket;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Resolves when every socket has handed its queued frames to the kernel (or after `ms`). */
  async flush(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && [...this.#connections.keys()].some((ws) => ws.bufferedAmount > 0)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Participants kept for a resume whose socket is gone. */
  get detachedCount(): number {
    return [...this.#resumable.values()].filter((j) => j.session === undefined).length;
  }

  /** Closes every connection (their participants leave) and stops accepting new ones. */
  close(): void {
    clearInterval(this.#heartbeat);
    for (const [ws, conn] of this.#connections) {
      conn.session.close({ resumable: false });
      ws.close(1001, 'server shutting down');
    }
    this.#connections.clear();
    this.#wss.close();
  }
}
