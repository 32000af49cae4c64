// The WebSocket endpoint (/ws). Each connection gets a PeerSession; this module
// only moves frames: text in → session, messages out → JSON text. Connections
// that stop answering pings are closed.
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenService } from '../auth/tokens.ts';
import type { Logger } from '../log.ts';
import { SIGNALING_PATH } from '../../protocol/messages.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import { PeerSession, type ResumableSessions, type SessionOptions } from './peerSession.ts';

export interface SignalingOptions extends SessionOptions {
  /** How often to ping; a connection that has not answered the previous ping is closed. */
  heartbeatMs?: number;
}

interface Connection {
  session: PeerSession;
  answeredPing: boolean;
}

export class SignalingServer {
  readonly #wss: WebSocketServer;
  readonly #connections = new Map<WebSocket, Connection>();
  readonly #heartbeat: NodeJS.Timeout;
  /** Joined participants by id, whichever socket carries them (or none, during a resume grace). */
  readonly #resumable: ResumableSessions = new Map();

  constructor(server: Server, registry: RoomRegistry, tokens: TokenService, options: SignalingOptions, log: Logger) {
    // Frames up to 16× the message limit are read so that the client gets a
    // MESSAGE_TOO_LARGE answer; beyond that ws closes the socket (code 1009).
    this.#wss = new WebSocketServer({ server, path: SIGNALING_PATH, maxPayload: options.maxMessageBytes * 16 });
    this.#wss.on('connection', (ws) => {
      const metrics = options.metrics;
      const send = (msg: unknown) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify(msg));
        metrics?.wsMessage('out');
      };
      metrics?.wsConnection(1);
      const conn: Connection = {
        session: new PeerSession(registry, tokens, send, options, log, this.#resumable, () =>
          ws.close(4000, 'resumed on another connection'),
        ),
        answeredPing: true,
      };
      this.#connections.set(ws, conn);
      ws.on('pong', () => (conn.answeredPing = true));
      ws.on('message', (data, isBinary) => {
        metrics?.wsMessage('in');
        // Binary frames are not part of the protocol; this text fails as BAD_JSON.
        void conn.session.receive(isBinary ? '<binary frame>' : data.toString());
      });
      ws.on('close', (code) => {
        metrics?.wsConnection(-1);
        this.#connections.delete(ws);
        // A client that closes its socket (a close frame: the page went away, the
        // app closed it) has left; a connection that broke (1006: no close frame,
        // e.g. a reset, a NAT timeout, or no answer to our pings) may be resumed.
        conn.session.close({ resumable: code === 1006 });
      });
      ws.on('error', (err) => log.debug('socket error', { error: err }));
    });
    this.#heartbeat = setInterval(() => {
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
