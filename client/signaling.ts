// The client side of the Chorus protocol: requests over one WebSocket, replies
// matched by id, notifications validated and handed to listeners.
//
// Runs in a browser and in Node alike: the socket comes from a factory (the
// browser's WebSocket, or the `ws` package's, which has the same on* API).
import {
  type ErrorBody,
  type ErrorCode,
  type Method,
  type Notification,
  type NotificationData,
  type NotificationName,
  type RequestData,
  type ResponseData,
  notifications as notificationSchemas,
  requests,
  serverMessage,
} from '../protocol/messages.ts';
import { Emitter } from './emitter.ts';

/**
 * An event handler property: its parameter is compared both ways, so that the
 * browser's WebSocket and `ws` (each with its own event classes) are SocketLikes.
 */
type Handler<E> = { bivariant(ev: E): void }['bivariant'] | null;

/** The part of the WebSocket API this client uses (browser WebSocket and `ws` both have it). */
export interface SocketLike {
  readonly readyState: number;
  onopen: Handler<unknown>;
  onmessage: Handler<{ data: unknown }>;
  onclose: Handler<{ code: number; reason: string }>;
  onerror: Handler<unknown>;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = (url: string) => SocketLike;

const OPEN = 1; // WebSocket.OPEN and CLOSED, the same in browsers and `ws`
const CLOSED = 3;

/** Client-side failures carry their own codes next to the server's. */
export type SignalingErrorCode = ErrorCode | 'CONNECTION_CLOSED' | 'UNREACHABLE' | 'BAD_RESPONSE' | 'TIMEOUT';

export class SignalingError extends Error {
  constructor(
    readonly code: SignalingErrorCode,
    message: string,
    /** What the server sent with the error, if anything (WRONG_NODE: protocol's wrongNodeData). */
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}

/** A server reply as it came: ok with data, or an error body. */
export type Reply = { id: number | null; ok: true; data: unknown } | { id: number | null; ok: false; error: ErrorBody };

type SignalingEvents = {
  notification: [Notification];
  /** A reply that matches no request of ours (e.g. to a raw frame the server could not read). */
  strayReply: [Reply];
  /** The socket closed (not by close()). */
  close: [{ code: number; reason: string }];
};

/** How many recent notifications `recent` keeps (for waitForNotification). */
const RECENT_LIMIT = 1000;

interface Pending {
  frame: string;
  /** The socket it went out on (none yet: held while reconnecting). */
  sentOn?: SocketLike;
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

/**
 * open: requests go out. away: the socket dropped and the owner may reconnect;
 * requests are held (and those in flight kept) until it does. closed: for good.
 */
type State = 'open' | 'away' | 'closed';

export class SignalingClient extends Emitter<SignalingEvents> {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #state: State = 'open';
  #socket: SocketLike;
  /** Whether a dropped socket leaves requests waiting for a reconnect (set once the session can be resumed). */
  holdOnDrop = false;
  /** The `seq` of the latest notification received (0: none); a resume asks for those after it. */
  lastSeq = 0;
  /** The latest notifications, oldest first (at most RECENT_LIMIT). */
  readonly notifications: Notification[] = [];

  constructor(socket: SocketLike) {
    super();
    this.#socket = socket;
    this.#wire(socket);
  }

  get socket(): SocketLike {
    return this.#socket;
  }

  #wire(socket: SocketLike): void {
    socket.onmessage = (ev) => this.#receive(typeof ev.data === 'string' ? ev.data : String(ev.data));
    socket.onclose = (ev) => {
      if (socket !== this.#socket || this.#state !== 'open') return;
      if (this.holdOnDrop) this.#state = 'away';
      else {
        this.#state = 'closed';
        this.#rejectAll('the connection to the server closed');
      }
      this.emit('close', { code: ev.code, reason: ev.reason });
    };
  }

  /**
   * After a drop: opens a new socket and runs `handshake` on it (its requests,
   * made with the `call` it is given, go out at once; others stay held). When
   * it succeeds, the held requests go out, and those that were in flight on
   * the old socket go out again with their ids (the server answers each once).
   * When it fails, the new socket is closed and the client stays away.
   */
  async reconnect(url: string, createSocket: SocketFactory, handshake: (call: SignalingClient['call']) => Promise<void>): Promise<void> {
    if (this.#state !== 'away') throw new SignalingError('INVALID_STATE', 'not waiting to reconnect');
    const socket = await openSocket(url, createSocket);
    if (this.#state !== 'away') {
      socket.close();
      throw new SignalingError('CONNECTION_CLOSED', 'closed while reconnecting');
    }
    const previous = this.#socket;
    this.#socket = socket;
    this.#wire(socket);
    const direct: SignalingClient['call'] = (method, data) => this.#call(method, data, true);
    try {
      await handshake(direct);
    } catch (err) {
      this.#socket = previous;
      socket.onclose = socket.onmessage = null;
      socket.close();
      throw err;
    }
    this.#state = 'open';
    for (const p of this.#pending.values()) {
      if (p.sentOn === socket) continue;
      p.sentOn = socket;
      socket.send(p.frame);
    }
  }

  /** Opens the WebSocket; rejects with UNREACHABLE if the server cannot be reached. */
  static async connect(url: string, createSocket: SocketFactory): Promise<SignalingClient> {
    return new SignalingClient(await openSocket(url, createSocket));
  }

  get isOpen(): boolean {
    return this.#state === 'open' && this.#socket.readyState === OPEN;
  }

  /** Whether the socket dropped and requests wait for a reconnect. */
  get isAway(): boolean {
    return this.#state === 'away';
  }

  /** Sends a request and resolves with its data; rejects with a SignalingError (the server's code, or a connection failure). */
  call<M extends Method>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
    return this.#call(method, data, false);
  }

  async #call<M extends Method>(method: M, data: RequestData<M>, now: boolean): Promise<ResponseData<M>> {
    const reply = await this.#request(method, data, now);
    if (!reply.ok) throw new SignalingError(reply.error.code, reply.error.message, reply.error.data);
    const parsed = requests[method].response.safeParse(reply.data);
    if (!parsed.success) throw new SignalingError('BAD_RESPONSE', `unexpected ${method} response from the server`);
    return parsed.data as ResponseData<M>;
  }

  /**
   * Sends a request and resolves with the reply as it came, error or not.
   * Data is not checked here (protocol tests send invalid data on purpose).
   */
  request(method: Method | (string & {}), data: unknown): Promise<Reply> {
    return this.#request(method, data, false);
  }

  /** `now`: goes out on the current socket even while away (a reconnect's handshake). */
  #request(method: string, data: unknown, now: boolean): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const held = this.#state === 'away' && !now;
      if (!held && this.#socket.readyState !== OPEN) {
        return reject(new SignalingError('CONNECTION_CLOSED', 'not connected to the server'));
      }
      if (this.#state === 'closed') return reject(new SignalingError('CONNECTION_CLOSED', 'not connected to the server'));
      const id = this.#nextId++;
      const frame = JSON.stringify({ id, method, data });
      const pending: Pending = { frame, resolve, reject };
      this.#pending.set(id, pending);
      if (!held) {
        pending.sentOn = this.#socket;
        this.#socket.send(frame);
      }
    });
  }

  /** Sends a frame as it is (tests of malformed input). */
  sendFrame(frame: string | Uint8Array): void {
    this.#socket.send(frame);
  }

  /** Resolves with the first notification `name` (among the recent ones, or the next) that `match` accepts. */
  waitForNotification<N extends NotificationName>(
    name: N,
    match: (data: NotificationData<N>) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<NotificationData<N>> {
    const accepts = (n: Notification): n is Extract<Notification, { notification: N }> =>
      n.notification === name && match(n.data as NotificationData<N>);
    const seen = this.notifications.find(accepts);
    if (seen) return Promise.resolve(seen.data as NotificationData<N>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new SignalingError('TIMEOUT', `timed out waiting for notification ${name}`));
      }, timeoutMs);
      const off = this.on('notification', (n) => {
        if (!accepts(n)) return;
        clearTimeout(timer);
        off();
        resolve(n.data as NotificationData<N>);
      });
    });
  }

  #receive(text: string): void {
    let parsed;
    try {
      parsed = serverMessage.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      console.warn('chorus: unexpected message from the server', text.slice(0, 200));
      return;
    }
    const msg = parsed.data;
    if ('notification' in msg) {
      const data = notificationSchemas[msg.notification].safeParse(msg.data);
      if (!data.success) {
        console.warn('chorus: malformed notification', msg.notification);
        return;
      }
      // A notification sent again by a resume that we had already received.
      if (msg.seq !== undefined) {
        if (msg.seq <= this.lastSeq) return;
        this.lastSeq = msg.seq;
      }
      const notification = { notification: msg.notification, data: data.data } as Notification;
      this.notifications.push(notification);
      if (this.notifications.length > RECENT_LIMIT) this.notifications.shift();
      this.emit('notification', notification);
      return;
    }
    const reply = msg as Reply;
    const pending = reply.id === null ? undefined : this.#pending.get(reply.id);
    if (!pending) return void this.emit('strayReply', reply);
    this.#pending.delete(reply.id!);
    pending.resolve(reply);
  }

  #rejectAll(why: string): void {
    const err = new SignalingError('CONNECTION_CLOSED', why);
    for (const { reject } of this.#pending.values()) reject(err);
    this.#pending.clear();
  }

  /** Closes the socket; pending requests fail with CONNECTION_CLOSED. No 'close' event. Resolves once it closed (at most 2 s). */
  close(): Promise<void> {
    this.#state = 'closed';
    this.#rejectAll('closed by the client');
    const socket = this.#socket;
    if (socket.readyState === CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      const onclose = socket.onclose;
      socket.onclose = (ev) => {
        clearTimeout(timer);
        onclose?.(ev);
        resolve();
      };
      socket.close();
    });
  }
}

/** A socket that has not opened by then counts as unreachable (a host that is gone answers nothing: the OS would wait minutes). */
const OPEN_TIMEOUT_MS = 5_000;

/** Opens a socket; rejects with UNREACHABLE if it cannot connect (within OPEN_TIMEOUT_MS). */
export function openSocket(url: string, createSocket: SocketFactory): Promise<SocketLike> {
  return new Promise((resolve, reject) => {
    let socket: SocketLike;
    try {
      socket = createSocket(url);
    } catch (err) {
      return reject(new SignalingError('UNREACHABLE', `cannot reach the Chorus server at ${url}: ${(err as Error).message}`));
    }
    const timer = setTimeout(() => {
      socket.onopen = socket.onclose = null;
      socket.onerror = () => {}; // closing a socket that is still connecting reports an error: nothing to do
      socket.close();
      reject(new SignalingError('UNREACHABLE', `the Chorus server at ${url} did not answer`));
    }, OPEN_TIMEOUT_MS);
    socket.onopen = () => {
      clearTimeout(timer);
      socket.onerror = socket.onclose = null;
      resolve(socket);
    };
    socket.onerror = socket.onclose = () => {
      clearTimeout(timer);
      reject(new SignalingError('UNREACHABLE', `cannot reach the Chorus server at ${url}`));
    };
  });
}
