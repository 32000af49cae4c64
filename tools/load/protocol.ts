// Messages between the load tool and its generator processes (IPC).
import type { JoinStep } from '../../client/node/nodePeer.ts';

export interface PlanItem {
  room: string;
  name: string;
  talker: boolean;
  /** Join this long after the start (ms). */
  joinAtMs: number;
  /** Whether to count this participant's join latency (not the first talker of a room: nobody to hear yet). */
  measureJoin: boolean;
  /** Which of the start message's URLs this participant joins through (default 0). */
  urlIndex?: number;
}

export interface StartMessage {
  type: 'start';
  /** The server(s): a participant joins through urls[item.urlIndex ?? 0]. */
  urls: string[];
  authSecret?: string;
  /** The common start (Date.now() of every process): joinAtMs counts from here. */
  startAt: number;
  plan: PlanItem[];
}

export interface Totals {
  joined: number;
  /** Joins that failed, and participants the server removed (their call ended without them leaving). */
  failed: number;
  /** Consumers the server closed before the client acknowledged them (their speaker left, or forwarding moved on): a race, not a failure. */
  racedConsumers: number;
  /** Participants whose call the client core had to rejoin (it survived: not a failure). */
  rejoins: number;
  /** Received audio packets, expected packets (from sequence numbers), lost. */
  received: number;
  expected: number;
  lost: number;
  /** Mean RFC 3550 jitter over the streams received (ms). */
  jitterMs: number;
  /** This process's CPU so far (ms). */
  cpuMs: number;
  /** This process's event-loop delay so far, p99 and max (ms): how late it could react to a packet or a reply. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export type GeneratorMessage =
  /** Loaded and waiting for 'start' (so no process loads its code while others join). */
  | { type: 'ready' }
  | { type: 'joined' }
  /**
   * The first remote audio packet reached a participant; latency from WebSocket
   * open, when measured, and when each join step had completed (ms from WebSocket open).
   */
  | {
      type: 'firstAudio';
      latencyMs?: number;
      steps?: Partial<Record<JoinStep, number>>;
      /** Whether the join was sent on to another node (WRONG_NODE) than the one it was sent to. */
      redirected?: boolean;
    }
  | { type: 'failed'; error: string }
  | { type: 'tick'; totals: Totals }
  | { type: 'done'; totals: Totals };
