// A Chorus protocol client for Node tests: raw frames, typed requests, and
// notifications collected so a test can wait for one.
import WebSocket from 'ws';
import type { ErrorBody, Method, Notification, NotificationName, RequestData } from '../../sfu/protocol/messages.ts';

export type Reply = { id: number | null; ok: true; data: any } | { id: number | null; ok: false; error: ErrorBody };

export class ProtocolClient {
  readonly notifications: Notification[] = [];
  readonly #replies: Reply[] = [];
  readonly #waiters: (() => void)[] = [];
  #nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if ('notification' in msg) this.notifications.push(msg);
      else this.#replies.push(msg);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static connect(url: string): Promise<ProtocolClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new ProtocolClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Sends a raw frame and returns the next reply (the server answers every frame). */
  async sendRaw(frame: string | Buffer, binary = false): Promise<Reply> {
    const before = this.#replies.length;
    this.ws.send(frame, { binary });
    await this.#until(() => this.#replies.length > before);
    return this.#replies[before]!;
  }

  async request<M extends Method>(method: M, data: RequestData<M> | Record<string, unknown>): Promise<Reply> {
    const id = this.#nextId++;
    const from = this.#replies.length;
    const mine = () => this.#replies.slice(from).find((r) => r.id === id);
    this.ws.send(JSON.stringify({ id, method, data }));
    await this.#until(() => mine() !== undefined);
    return mine()!;
  }

  /** Like request, but throws unless the server answered ok; returns the data. */
  async call<M extends Method>(method: M, data: RequestData<M> | Record<string, unknown>): Promise<any> {
    const reply = await this.request(method, data);
    if (!reply.ok) throw new Error(`${method} failed: ${reply.error.code} ${reply.error.message}`);
    return reply.data;
  }

  async waitForNotification<N extends NotificationName>(
    name: N,
    match: (data: Extract<Notification, { notification: N }>['data']) => boolean = () => true,
  ): Promise<Extract<Notification, { notification: N }>['data']> {
    let found: Notification | undefined;
    await this.#until(
      () => (found = this.notifications.find((n) => n.notification === name && match(n.data as never))) !== undefined,
      `notification ${name}`,
    );
    return found!.data as never;
  }

  #until(ready: () => boolean, what = 'reply', timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (ready()) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const check = () => {
        if (ready()) {
          clearTimeout(timer);
          resolve();
        } else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
