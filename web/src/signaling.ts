// The client side of the Chorus protocol: typed requests over one WebSocket,
// with responses matched by id and notifications handed to one handler.
import {
  type ErrorCode,
  type Method,
  type Notification,
  PROTOCOL_VERSION,
  type RequestData,
  type ResponseData,
  SIGNALING_PATH,
  notifications,
  serverMessage,
} from '../../sfu/protocol/messages.ts';

export { PROTOCOL_VERSION };

export class SignalingError extends Error {
  constructor(
    readonly code: ErrorCode | 'CONNECTION_CLOSED' | 'UNREACHABLE' | 'BAD_RESPONSE',
    message: string,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}

interface Pending {
  resolve(data: unknown): void;
  reject(err: Error): void;
}

export class SignalingClient {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #onNotification: (n: Notification) => void = () => {};
  #onClose: (err: SignalingError) => void = () => {};

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (ev) => this.#receive(String(ev.data));
    ws.onclose = () => {
      const err = new SignalingError('CONNECTION_CLOSED', 'the connection to the server closed');
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
      this.#onClose(err);
    };
  }

  /** Opens the WebSocket; rejects with UNREACHABLE if the server cannot be reached. */
  static connect(url = defaultUrl()): Promise<SignalingClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new SignalingClient(ws));
      ws.onerror = () => reject(new SignalingError('UNREACHABLE', `cannot reach the Chorus server at ${url}`));
    });
  }

  onNotification(handler: (n: Notification) => void): void {
    this.#onNotification = handler;
  }

  onClose(handler: (err: SignalingError) => void): void {
    this.#onClose = handler;
  }

  request<M extends Method>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#ws.readyState !== WebSocket.OPEN) {
        reject(new SignalingError('CONNECTION_CLOSED', 'not connected to the server'));
        return;
      }
      this.#pending.set(id, { resolve: resolve as (d: unknown) => void, reject });
      this.#ws.send(JSON.stringify({ id, method, data }));
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
      const data = notifications[msg.notification].safeParse(msg.data);
      if (data.success) this.#onNotification({ notification: msg.notification, data: data.data } as Notification);
      else console.warn('chorus: malformed notification', msg.notification);
      return;
    }
    const pending = msg.id === null ? undefined : this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id!);
    if (msg.ok) pending.resolve(msg.data);
    else pending.reject(new SignalingError(msg.error.code, msg.error.message));
  }

  close(): void {
    this.#ws.onclose = null;
    this.#ws.close();
    const err = new SignalingError('CONNECTION_CLOSED', 'left');
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

function defaultUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}${SIGNALING_PATH}`;
}
