// The headless client core: one participant's call. It owns the signaling
// connection, the mediasoup-client Device's transports, the producer and the
// consumers, runs the join sequence and turns the server's notifications into
// events. No DOM and no React: the web page, the load tool and the tests all
// drive a call through this class, each with its own Device and socket factory
// (a browser's, or werift and `ws` in Node).
//
// Join sequence (docs/protocol.md): join → load the Device → send transport +
// produce (if we may and can) → receive transport → consume; then for each
// newConsumer: consume locally, tell the app, consumerReady (the server resumes it).
// When the server moves the room off a dead worker (roomMoved), the media part
// runs again on the same session: same participant, nobody sees a leave.
// When the socket drops the call resumes its session (resume.ts); when the
// server lost it, the call joins again (rejoin.ts); which node it talks to is
// nodeChoice.ts's.
import type { types } from 'mediasoup-client';
import { closeCodes, type LeaveReason, type Notification, type NotificationData, PROTOCOL_VERSION, type ResponseData } from '../protocol/messages.ts';
import { Emitter } from './emitter.ts';
import { IceRecovery, type IceRecoveryOptions } from './iceRecovery.ts';
import { NodeChoice } from './nodeChoice.ts';
import { DEFAULT_REJOIN_FOR_MS, rejoin, rejoinsAfter } from './rejoin.ts';
import { resumeSession } from './resume.ts';
import { SignalingClient, SignalingError, type SocketFactory } from './signaling.ts';

export { backoffMs } from './retry.ts';

export type Device = types.Device;
export type JoinResponse = ResponseData<'join'>;

/**
 * Steps of a join, in the order they usually complete; `Call.steps` holds when
 * each did (Date.now()): joined, producer created, consume answered, the first
 * consumer set up (consumerReady sent), each transport's ICE + DTLS connected.
 */
export const JOIN_STEPS = ['joined', 'produced', 'consumeAsked', 'consumerReady', 'sendConnected', 'recvConnected'] as const;
export type JoinStep = (typeof JOIN_STEPS)[number];

export interface CallOptions {
  /** The signaling endpoint, e.g. wss://chorus.example/ws (in a cluster: any node's; the call follows WRONG_NODE). */
  url: string;
  createSocket: SocketFactory;
  /** A Device loaded with the room's router capabilities (a new one per call in a browser; Node peers may share one). */
  loadDevice(routerRtpCapabilities: types.RtpCapabilities): Promise<Device>;
  room: string;
  /** A join token for the room. */
  token: string;
  /** The microphone track to send; without one (or as a listener) the call is listen-only. */
  track?: MediaStreamTrack;
  codecOptions?: types.ProducerCodecOptions;
  /** A join token for a rejoin (e.g. a fresh dev token); without it the first token is used again. */
  refreshToken?(): Promise<string>;
  /** How long to keep trying to rejoin when the server lost the session (ms; default 60 s, 0 = never rejoin). */
  rejoinForMs?: number;
  /** When to restart ICE, and how often before a full rejoin (see IceRecovery). */
  iceRecovery?: IceRecoveryOptions;
  /** Tests only: alter the DTLS parameters we announce (e.g. a wrong fingerprint, to make DTLS fail). */
  transformDtlsParameters?(dtls: types.DtlsParameters): types.DtlsParameters;
}

export interface RemoteAudio {
  consumer: types.Consumer;
  participantId: string;
  producerId: string;
}

type CallEvents = {
  /** A remote participant's audio is set up (its track is live; the server resumes it next). */
  consumer: [RemoteAudio];
  /** The server closed a consumer (its speaker left, or forwarding moved on). */
  consumerClosed: [RemoteAudio];
  /** Every notification, after the call applied it, in order. */
  notification: [Notification];
  /** The server admitted us (the first step of the join; media setup follows). */
  joined: [JoinResponse];
  step: [JoinStep];
  transportState: ['send' | 'recv', types.ConnectionState];
  /** The signaling connection dropped; we try to get it back (attempt 1, 2, …), media running meanwhile. */
  reconnecting: [number];
  /** The server handed our session back on a new connection: nothing was lost. */
  resumed: [];
  /** The media path of a transport broke: we restart its ICE. */
  iceRestart: ['send' | 'recv'];
  /** The server lost our session (the reason); we join again (attempt 1, 2, …). */
  rejoining: [number, LeaveReason];
  /** Joined again (a new participant id; 'joined' came first with the new state). */
  rejoined: [];
  /** The room's worker died and the room moved to another: our media is set up again (same participant). */
  moving: [];
  /** Media set up again after a move: the call goes on. */
  moved: [];
  /** The call ended without us leaving: the reason says who ended it (and the error, when one did). */
  ended: [LeaveReason, Error | undefined];
};

export class Call extends Emitter<CallEvents> {
  readonly steps: Partial<Record<JoinStep, number>> = {};
  /** When the signaling socket opened (Date.now()): join steps count from here. */
  connectedAt = 0;
  /** When the call's first signaling socket opened (Date.now()): before a WRONG_NODE redirect, where connectedAt is after it. */
  firstConnectedAt = 0;
  /** Consumers the server closed before we acknowledged them: an ordinary race, not a failure. */
  closedBeforeReady = 0;
  readonly #consumers = new Map<string, RemoteAudio>();
  #transports: types.Transport[] = [];
  #producer?: types.Producer;
  #device?: Device;
  #joined?: JoinResponse;
  /** Notifications are applied one at a time, in order. */
  #chain: Promise<void> = Promise.resolve();
  #ended = false;
  #signaling?: SignalingClient;
  /** The join token in use (a rejoin may get a fresh one from options.refreshToken). */
  #token = '';
  #track?: MediaStreamTrack;
  #muted = false;
  /** Set once we leave or close: nothing is rejoined after that. */
  #closing = false;
  #resumeGrant?: JoinResponse['resume'];
  /** The media setup in progress or done last (after the join, or after a move). */
  #mediaSetup?: Promise<void>;
  /** Moves so far (the latest one sets the media up; an earlier one gives way). */
  #moves = 0;
  /** How many reconnect attempts the current drop has taken (0: connected). */
  reconnectAttempts = 0;
  /** The node we talk to (cluster mode: where the room lives). */
  readonly #node: NodeChoice;

  /** A call not yet joined: add listeners, then join(). */
  constructor(readonly options: CallOptions) {
    super();
    this.#track = options.track;
    this.#node = new NodeChoice(options.url);
  }

  /** The signaling URL of the node the call is on (or tries next). */
  get nodeUrl(): string {
    return this.#node.current;
  }

  /** Connects, joins and sets up media: `new Call(options)` then `join()`. */
  static async join(options: CallOptions): Promise<Call> {
    const call = new Call(options);
    await call.join();
    return call;
  }

  /** Connects, joins the room and sets up media; rejects (with everything closed) if any step fails. */
  async join(): Promise<void> {
    if (this.#signaling) throw new Error('join() was called twice');
    try {
      await this.#connect(this.options.token);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * A new signaling connection, then the join sequence on it (the first join,
   * or a rejoin). A node that sends us to the room's node (WRONG_NODE) is
   * followed once; a node that does not answer makes the next try go to another.
   */
  async #connect(token: string, followed = false): Promise<void> {
    let signaling: SignalingClient;
    try {
      signaling = await SignalingClient.connect(this.#node.current, this.options.createSocket);
    } catch (err) {
      this.#node.connectFailed(err);
      throw err;
    }
    this.#signaling = signaling;
    this.#token = token;
    this.connectedAt = Date.now();
    this.firstConnectedAt ||= this.connectedAt;
    const current = () => this.#signaling === signaling;
    signaling.on('notification', (n) => {
      if (!current()) return;
      // Being removed ends the call at once: what is still queued no longer matters.
      const endedBy = this.#endingReason(n);
      if (endedBy) {
        this.emit('notification', n);
        this.#end(endedBy);
        return;
      }
      // A move starts at once, ahead of what is queued: that was on the dead worker (see #move).
      if (n.notification === 'roomMoved') {
        this.#mediaSetup = this.#move(n.data.routerRtpCapabilities, this.#mediaSetup);
        this.emit('notification', n);
        return;
      }
      this.#chain = this.#chain.then(() => this.#apply(n)).catch((err) => this.#onError(err));
    });
    signaling.on('close', ({ code }) => {
      if (!current()) return;
      // Another connection of ours took the session over: this one is done.
      if (code === closeCodes.resumedElsewhere) this.#end('replaced');
      else if (signaling.isAway) void this.#resume();
      else this.#end('disconnected');
    });
    try {
      await this.#join(token);
    } catch (err) {
      const redirect = NodeChoice.redirect(err);
      if (followed || !redirect) throw err;
      void signaling.close();
      this.#node.follow(redirect);
      await this.#connect(token, true);
    }
  }

  /** The signaling connection (once join() has connected). */
  get signaling(): SignalingClient {
    if (!this.#signaling) throw new Error('the call has not connected yet');
    return this.#signaling;
  }

  get joined(): JoinResponse {
    return this.#joined!;
  }
  get participantId(): string {
    return this.joined.participantId;
  }
  get device(): Device | undefined {
    return this.#device;
  }
  get producer(): types.Producer | undefined {
    return this.#producer;
  }
  get consumers(): ReadonlyMap<string, RemoteAudio> {
    return this.#consumers;
  }
  /** The send (if any) and receive transports of the current session (for getStats). */
  get transports(): readonly types.Transport[] {
    return this.#transports;
  }
  get isEnded(): boolean {
    return this.#ended;
  }

  async #join(token: string): Promise<void> {
    const { room } = this.options;
    const joined = await this.signaling.call('join', { protocolVersion: PROTOCOL_VERSION, room, token });
    this.#joined = joined;
    this.#node.learn(joined.cluster?.nodes);
    this.#resumeGrant = joined.resume;
    // From now on a dropped socket is resumed: requests wait for the new one.
    this.signaling.holdOnDrop = joined.resume.graceMs > 0;
    this.emit('joined', joined);
    this.#step('joined');
    this.#mediaSetup = this.#setUpMedia(joined.routerRtpCapabilities);
    // A move while we set up replaces this setup with its own: wait for the
    // latest. Only this first one can fail here (a move reports its failure).
    let setup: Promise<void> | undefined;
    while (setup !== this.#mediaSetup) {
      setup = this.#mediaSetup;
      try {
        await setup;
      } catch (err) {
        if (setup === this.#mediaSetup) throw err;
      }
    }
  }

  /** The media part of a join: Device, send transport + producer (if we may), receive transport, consume. */
  async #setUpMedia(routerRtpCapabilities: types.RtpCapabilities): Promise<void> {
    const { codecOptions } = this.options;
    const track = this.#track;
    const joined = this.joined;
    const device = await this.options.loadDevice(routerRtpCapabilities);
    this.#device = device;
    if (track && joined.role !== 'listener' && device.canProduce('audio')) {
      const send = await this.#createTransport('send');
      this.#producer = await send.produce({
        track,
        // The server says how to encode the microphone.
        codecOptions: { ...codecOptions, opusMaxAverageBitrate: joined.audio.maxBitrate },
        stopTracks: false,
      });
      // A rejoin (or a move) keeps what the person chose.
      if (this.#muted) await this.setMuted(true);
      this.#step('produced');
    }
    await this.#createTransport('recv');
    await this.signaling.call('consume', { rtpCapabilities: device.rtpCapabilities });
    this.#step('consumeAsked');
  }

  async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const options = await this.signaling.call('createTransport', { direction });
    // TURN servers (if the server hands any out) for networks that block direct UDP/TCP.
    const params = { ...options, iceServers: this.joined.iceServers };
    const device = this.#device!;
    const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
    this.#transports.push(transport);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      const dtls = this.options.transformDtlsParameters?.(dtlsParameters) ?? dtlsParameters;
      this.signaling.call('connectTransport', { transportId: transport.id, dtlsParameters: dtls }).then(() => callback(), errback);
    });
    transport.on('produce', ({ rtpParameters }, callback, errback) => {
      this.signaling
        .call('produce', { transportId: transport.id, kind: 'audio', rtpParameters })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    const recovery = new IceRecovery(
      () => this.#restartIce(transport),
      () => {
        // ICE restarts did not bring the media back: join again from scratch.
        if (this.#joined && !this.#closing && !this.#rejoining && !this.#ended) {
          void this.#rejoin('transportFailed', Date.now() + (this.options.rejoinForMs ?? DEFAULT_REJOIN_FOR_MS));
        }
      },
      this.options.iceRecovery,
    );
    this.#recoveries.push(recovery);
    transport.on('connectionstatechange', (state) => {
      if (state === 'connected') this.#step(direction === 'send' ? 'sendConnected' : 'recvConnected');
      this.emit('transportState', direction, state);
      recovery.on(state);
    });
    return transport;
  }

  readonly #recoveries: IceRecovery[] = [];

  /**
   * Our voice detection says we start talking: the server forwards us at once
   * where a slot is taken by someone who stopped (instead of after its level
   * observer noticed, ≈ 0.25–0.5 s). Harmless when wrong: the server checks.
   */
  async hintSpeaking(): Promise<void> {
    if (!this.#producer || this.#muted || this.#rejoining || this.#ended) return;
    await this.signaling.call('speaking', {}).catch(() => {});
  }

  /** Restarts ICE on both transports now (e.g. the device moved to another network). */
  async restartIce(): Promise<void> {
    await Promise.all(this.#transports.map((t) => this.#restartIce(t)));
  }

  /** New ICE credentials from the server, then mediasoup-client's ICE restart with them. */
  async #restartIce(transport: types.Transport): Promise<void> {
    if (transport.closed || this.#ended) return;
    this.emit('iceRestart', transport.direction);
    try {
      const { iceParameters } = await this.signaling.call('restartIce', { transportId: transport.id });
      if (!transport.closed) await transport.restartIce({ iceParameters });
    } catch (err) {
      // The signaling is away (it resumes, then the next state change tries again) or the transport is gone.
      console.warn('chorus: ICE restart failed', err);
    }
  }

  /** The reason, if `n` tells us we are out of the room. */
  #endingReason(n: Notification): LeaveReason | undefined {
    if (n.notification === 'roomClosed') return n.data.reason;
    if (n.notification === 'participantLeft' && n.data.participantId === this.#joined?.participantId) return n.data.reason;
    return undefined;
  }

  async #apply(n: Notification): Promise<void> {
    if (this.#ended) return;
    switch (n.notification) {
      case 'newConsumer':
        await this.#consume(n.data);
        break;
      case 'consumerClosed': {
        const remote = this.#consumers.get(n.data.consumerId);
        if (remote) this.#dropConsumer(remote);
        break;
      }
      default:
        break;
    }
    this.emit('notification', n);
  }

  async #consume({ consumerId, producerId, participantId, rtpParameters }: NotificationData<'newConsumer'>): Promise<void> {
    const recv = this.#transports.find((t) => t.direction === 'recv');
    if (!recv) return;
    const setup = this.#mediaSetup;
    let remote: RemoteAudio | undefined;
    try {
      const consumer = await recv.consume({ id: consumerId, producerId, kind: 'audio', rtpParameters });
      remote = { consumer, participantId, producerId };
      if (recv.closed) return void consumer.close(); // the room moved meanwhile
      this.#consumers.set(consumerId, remote);
      this.emit('consumer', remote);
      this.#step('consumerReady');
      await this.signaling.call('consumerReady', { consumerId });
    } catch (err) {
      // The room moved (the server says so before it answers a request that
      // failed for it): this consumer was on the dead worker. Not a failure.
      if (setup !== this.#mediaSetup) return void (remote && this.#dropConsumer(remote));
      // The server closed it before our acknowledgement arrived (its speaker
      // left): its consumerClosed is next in line. Not a failure of the call.
      if (!(remote && err instanceof SignalingError && err.code === 'NOT_FOUND')) throw err;
      this.closedBeforeReady++;
      this.#dropConsumer(remote);
    }
  }

  /**
   * The server moved the room to another worker: our transports, producer and
   * consumers are dead there. Drop them and set the media up again on the same
   * session (same participant, track and mute state).
   */
  async #move(routerRtpCapabilities: types.RtpCapabilities, previous?: Promise<void>): Promise<void> {
    const move = ++this.#moves;
    const latest = () => move === this.#moves && !this.#ended;
    this.emit('moving');
    try {
      await previous?.catch(() => {}); // a setup in progress was on the dead worker: let it end, then drop it
      if (!latest()) return;
      this.#closeMedia();
      await this.#setUpMedia(routerRtpCapabilities);
      if (latest()) this.emit('moved');
    } catch (err) {
      // Another move replaced this one: that one goes on. Otherwise the call rejoins.
      if (latest()) this.#onError(err);
    }
  }

  #dropConsumer(remote: RemoteAudio): void {
    if (!this.#consumers.delete(remote.consumer.id)) return;
    remote.consumer.close();
    this.emit('consumerClosed', remote);
  }

  /** The socket dropped: get the same session back on a new one (resume.ts), or end the call. */
  async #resume(): Promise<void> {
    const outcome = await resumeSession({
      signaling: this.signaling,
      createSocket: this.options.createSocket,
      node: this.#node,
      participantId: this.participantId,
      grant: this.#resumeGrant!,
      token: this.#token,
      stopped: () => this.#ended,
      reconnecting: (attempt) => {
        this.reconnectAttempts = attempt;
        this.emit('reconnecting', attempt);
      },
      resumed: async (answer) => {
        this.#resumeGrant = answer.resume;
        // TURN credentials are short-lived: take the fresh ones.
        for (const t of this.#transports) if (!t.closed) await t.updateIceServers({ iceServers: answer.iceServers });
      },
    });
    if (!outcome.resumed) return this.#end('disconnected', outcome.refusal);
    this.reconnectAttempts = 0;
    this.emit('resumed');
  }

  #step(step: JoinStep): void {
    this.steps[step] ??= Date.now();
    this.emit('step', step);
  }

  #onError(err: unknown): void {
    if (this.#ended) return;
    this.#end('disconnected', err instanceof Error ? err : new Error(String(err)));
  }

  /** Pauses or resumes the microphone and tells the server (and keeps it so across a rejoin). */
  async setMuted(muted: boolean): Promise<void> {
    this.#muted = muted;
    if (!this.#producer) return;
    if (muted) this.#producer.pause();
    else this.#producer.resume();
    await this.signaling.call(muted ? 'mute' : 'unmute', {});
  }

  /** Switches the microphone without renegotiation. */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    this.#track = track;
    await this.#producer?.replaceTrack({ track });
  }

  /** Tells the server we leave, then closes everything. */
  async leave(): Promise<void> {
    this.#closing = true;
    if (!this.#ended) {
      this.#ended = true;
      await this.signaling.call('leave', {}).catch(() => {}); // leaving anyway
    }
    await this.close();
  }

  #end(reason: LeaveReason, error?: Error): void {
    if (this.#ended || this.#rejoining) return;
    const rejoinFor = this.options.rejoinForMs ?? DEFAULT_REJOIN_FOR_MS;
    if (this.#joined && !this.#closing && rejoinFor > 0 && rejoinsAfter(reason)) {
      void this.#rejoin(reason, Date.now() + rejoinFor);
      return;
    }
    this.#ended = true;
    void this.close();
    this.emit('ended', reason, error);
  }

  #rejoining = false;

  /**
   * The server lost our session: join the same room again (rejoin.ts), as the
   * same person with the same microphone and mute state, until `deadline`.
   */
  async #rejoin(reason: LeaveReason, deadline: number): Promise<void> {
    this.#rejoining = true;
    const drop = () => {
      this.#dropMedia();
      void this.#signaling?.close();
    };
    drop();
    const outcome = await rejoin({
      deadline,
      stopped: () => this.#closing,
      join: async (attempt) => {
        this.emit('rejoining', attempt, reason);
        const token = (await this.options.refreshToken?.()) ?? this.#token;
        await this.#connect(token);
      },
      failed: drop,
    });
    this.#rejoining = false;
    if (outcome.rejoined) return void this.emit('rejoined');
    if (this.#closing) return;
    this.#ended = true;
    void this.close();
    this.emit('ended', reason, outcome.error);
  }

  /** Closes transports and consumers (telling the app each consumer went), keeping the track. */
  #closeMedia(): void {
    for (const r of this.#recoveries.splice(0)) r.stop();
    for (const t of this.#transports) t.close();
    this.#transports = [];
    for (const remote of [...this.#consumers.values()]) this.#dropConsumer(remote);
    this.#producer = undefined;
  }

  /** The session is gone: its media, and what was still queued of its notifications. */
  #dropMedia(): void {
    this.#closeMedia();
    this.#chain = Promise.resolve();
  }

  /** Closes transports, consumers and the socket (idempotent; no 'ended' event); resolves once the socket closed. */
  close(): Promise<void> {
    this.#closing = true;
    this.#ended = true;
    for (const r of this.#recoveries.splice(0)) r.stop();
    for (const t of this.#transports) t.close();
    this.#transports = [];
    this.#consumers.clear();
    this.#producer = undefined;
    return this.#signaling?.close() ?? Promise.resolve();
  }
}
