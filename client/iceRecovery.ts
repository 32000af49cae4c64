// When a transport's media path breaks, what to do about it: the ICE recovery
// policy of one transport, apart from mediasoup-client so that it is plain to
// read and to test.
//
// - `disconnected` (packets stopped; the browser may still recover by itself):
//   wait `disconnectedWaitMs`, then restart ICE if it is still not connected;
// - `failed`: restart ICE at once;
// - a restart that does not reach `connected` within `restartTimeoutMs` counts
//   as failed and is tried again; after `maxRestarts` restarts in a row without
//   reaching `connected`, give up on ICE: the caller rejoins from scratch.
// `connected` (or `completed`) resets everything. A new local network (a new
// address) shows up as disconnected/failed and recovers the same way.
export interface IceRecoveryOptions {
  disconnectedWaitMs?: number;
  restartTimeoutMs?: number;
  maxRestarts?: number;
}

type State = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export class IceRecovery {
  #timer?: ReturnType<typeof setTimeout>;
  #restarts = 0;
  #state: State = 'new';
  #stopped = false;

  constructor(
    readonly restart: () => Promise<void> | void,
    /** ICE restarts did not help: the caller rejoins from scratch. */
    readonly giveUp: () => void,
    readonly options: IceRecoveryOptions = {},
  ) {}

  get restarts(): number {
    return this.#restarts;
  }

  /** Feeds a transport's connection state. */
  on(state: string): void {
    const { disconnectedWaitMs = 2_000, maxRestarts = 3 } = this.options;
    this.#state = state as State;
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    if (state === 'connected' || state === 'completed') {
      this.#restarts = 0;
    } else if (state === 'closed') {
      this.stop();
    } else if (state === 'disconnected') {
      this.#timer = setTimeout(() => this.#tryRestart(), disconnectedWaitMs);
    } else if (state === 'failed') {
      if (this.#restarts >= maxRestarts) {
        this.stop();
        this.giveUp();
      } else this.#tryRestart();
    }
  }

  #tryRestart(): void {
    if (this.#stopped || this.#state === 'connected') return;
    this.#restarts++;
    void this.restart();
    // No `connected` in time: it counts as failed (the browser may say so earlier).
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.on('failed'), this.options.restartTimeoutMs ?? 8_000);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
