// A joined participant's link to its client, across WebSocket connections.
//
// The room talks to a participant through this link, never to a socket: when
// the socket drops, the link is detached (media keeps running) and holds on to
// what the client must not miss, so that a new socket can resume the session:
// - every notification is numbered (`seq`), and the latest ones are kept, so
//   the client gets exactly those it did not receive;
// - the latest responses are kept by request id, so a request the client sends
//   again after resuming is answered once, not applied twice;
// - a resume credential (random, rotated on every resume) proves the new
//   socket belongs to the same client; the join token is checked again too.
// If the client does not come back within the grace period, the participant
// leaves ('disconnected'), as it did at once before resuming existed.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NotificationData, NotificationName, Response } from '../../protocol/messages.ts';
import type { PeerLink } from '../rooms/participant.ts';

export type Frame = Response | { notification: NotificationName; data: unknown; seq: number };
export type Send = (frame: Frame) => void;

export interface ClientLinkOptions {
  /** How long a participant whose socket dropped is kept for a resume (ms); 0 = leave at once. */
  graceMs: number;
  /** How many notifications are kept for a resume; a client that missed more rejoins. */
  keptNotifications?: number;
  /** How many responses are kept for requests sent again after a resume. */
  keptResponses?: number;
}

export class ClientLink implements PeerLink {
  #send?: Send;
  #seq = 0;
  readonly #kept: { seq: number; frame: Frame }[] = [];
  readonly #responses = new Map<number, { method: string; owner: object; response: Promise<Response> }>();
  #secret = newSecret();
  #graceTimer?: NodeJS.Timeout;

  constructor(
    readonly options: ClientLinkOptions,
    /** Called when the grace period ends without a resume. */
    readonly onExpired: () => void,
  ) {}

  get attached(): boolean {
    return this.#send !== undefined;
  }

  /** The credential the client presents to resume (rotated by every resume). */
  get resumeToken(): string {
    return this.#secret;
  }

  notify<N extends NotificationName>(name: N, data: NotificationData<N>): void {
    const frame: Frame = { notification: name, data, seq: ++this.#seq };
    this.#kept.push({ seq: frame.seq, frame });
    if (this.#kept.length > (this.options.keptNotifications ?? 500)) this.#kept.shift();
    this.#send?.(frame);
  }

  /** Sends a response on the current socket (if any). */
  respond(response: Response): void {
    this.#send?.(response);
  }

  /**
   * Runs a request once per id: the same request sent again on a later socket
   * (`owner`: the session it came through) after a resume gets the first run's
   * response, whether it has finished or not. Within one socket, ids are the
   * client's business: a repeated id simply runs again.
   */
  once(id: number, method: string, owner: object, run: () => Promise<Response>): Promise<Response> {
    const seen = this.#responses.get(id);
    if (seen && seen.method === method && seen.owner !== owner) return seen.response;
    const response = run();
    this.#responses.delete(id);
    this.#responses.set(id, { method, owner, response });
    if (this.#responses.size > (this.options.keptResponses ?? 64)) {
      this.#responses.delete(this.#responses.keys().next().value!);
    }
    return response;
  }

  attach(send: Send): void {
    clearTimeout(this.#graceTimer);
    this.#send = send;
  }

  /** The socket `send` belongs to dropped: keep the participant for the grace period. */
  detach(send: Send): void {
    if (this.#send !== send) return; // another socket has taken over already
    this.#send = undefined;
    clearTimeout(this.#graceTimer);
    if (this.options.graceMs <= 0) return this.onExpired();
    this.#graceTimer = setTimeout(() => this.onExpired(), this.options.graceMs);
    this.#graceTimer.unref();
  }

  matches(resumeToken: string): boolean {
    const a = Buffer.from(resumeToken);
    const b = Buffer.from(this.#secret);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * Hands the session to a new socket: a new credential, and the notifications
   * after `lastSeq` sent again. False if some of those are no longer kept.
   */
  resume(send: Send, lastSeq: number): boolean {
    const missed = this.#kept.filter((k) => k.seq > lastSeq);
    const complete = lastSeq >= this.#seq || (missed[0] !== undefined && missed[0].seq === lastSeq + 1);
    if (!complete) return false;
    this.#secret = newSecret();
    this.attach(send);
    for (const { frame } of missed) send(frame);
    return true;
  }

  /** The participant is gone: no grace timer outlives it. */
  close(): void {
    clearTimeout(this.#graceTimer);
    this.#send = undefined;
  }
}

function newSecret(): string {
  return randomBytes(24).toString('base64url');
}
