// The imperative side of the web client: one object per call that owns the
// signaling connection, the mediasoup-client Device and transports, the
// microphone track and the remote streams. React only reads its snapshots
// (subscribe/getSnapshot) and calls its methods.
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import type { ChatMessage, Notification, ParticipantInfo, Role } from '../../sfu/protocol/messages.ts';
import { MicLevel } from './micLevel.ts';
import { describeError } from './describeError.ts';
import { fetchDevToken } from './devToken.ts';
import { PROTOCOL_VERSION, SignalingClient } from './signaling.ts';

export type Phase = 'idle' | 'connecting' | 'joined' | 'left' | 'error';

export interface RemoteParticipant extends ParticipantInfo {
  /** The participant's audio, once the server forwards it to us. */
  stream?: MediaStream;
  /** Speaking now (the server's measure), and how loud (0..1). */
  speaking: boolean;
  level: number;
}

export interface CallState {
  phase: Phase;
  room?: string;
  selfId?: string;
  displayName?: string;
  participants: RemoteParticipant[];
  muted: boolean;
  /** Local microphone level, 0..1. */
  level: number;
  /** Whether the server hears us speaking. */
  speaking: boolean;
  role?: Role;
  /** A moderator muted us; unmuting is refused unless allowed. */
  forceMuted?: { allowUnmute: boolean };
  chat: ChatMessage[];
  /** Why the last chat message was refused (e.g. too many too fast). */
  chatError?: string;
  /** Who spoke most recently for a while (the server's dominant speaker). */
  dominantId?: string;
  mics: { deviceId: string; label: string }[];
  micId?: string;
  /** Why the microphone is unavailable (the call goes on, listen-only). */
  micError?: string;
  /** Why the call failed or ended. */
  error?: string;
  /** The browser refused to play audio without a user gesture. */
  audioBlocked: boolean;
}

export interface JoinOptions {
  room: string;
  displayName?: string;
  /** A join token; without one, a dev-mode server is asked for one. */
  token?: string;
  role?: Role;
  micId?: string;
}

const initial: CallState = {
  phase: 'idle',
  participants: [],
  muted: false,
  level: 0,
  speaking: false,
  mics: [],
  audioBlocked: false,
  chat: [],
};

const quiet = (p: ParticipantInfo): RemoteParticipant => ({ ...p, speaking: false, level: 0 });

export class RoomClient {
  #state: CallState = initial;
  readonly #listeners = new Set<() => void>();
  #signaling?: SignalingClient;
  #device?: Device;
  #sendTransport?: types.Transport;
  #recvTransport?: types.Transport;
  #producer?: types.Producer;
  #micTrack?: MediaStreamTrack;
  #micLevel?: MicLevel;
  readonly #consumers = new Map<string, { consumer: types.Consumer; participantId: string }>();
  /** Notifications are applied one at a time, in order. */
  #notificationChain: Promise<void> = Promise.resolve();

  // --- React store interface ---
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };
  getSnapshot = (): CallState => this.#state;

  #set(patch: Partial<CallState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const l of this.#listeners) l();
  }

  #updateParticipant(id: string, patch: Partial<RemoteParticipant>): void {
    this.#set({ participants: this.#state.participants.map((p) => (p.id === id ? { ...p, ...patch } : p)) });
  }

  // --- the call ---
  /**
   * Joins `room` with `token` (an invitation link carries one), or, on a
   * server in dev mode, with a token it hands out for `displayName` and `role`.
   */
  async join({ room, displayName, token, role, micId }: JoinOptions): Promise<void> {
    if (this.#state.phase === 'connecting' || this.#state.phase === 'joined') return;
    this.#set({ ...initial, phase: 'connecting', room, displayName, mics: this.#state.mics, micId });
    try {
      const joinToken = token ?? (await fetchDevToken(room, displayName ?? '', role));
      const signaling = await SignalingClient.connect();
      this.#signaling = signaling;
      signaling.onNotification((n) => {
        this.#notificationChain = this.#notificationChain.then(() => this.#onNotification(n)).catch((err) => {
          console.error('chorus: notification failed', err);
        });
      });
      signaling.onClose(() => this.#fail('The connection to the server was lost. Rejoin to continue.'));

      const mic = await this.#openMic(micId);
      const joined = await signaling.request('join', { protocolVersion: PROTOCOL_VERSION, room, token: joinToken });
      this.#set({
        selfId: joined.participantId,
        room: joined.room,
        displayName: joined.displayName,
        role: joined.role,
        participants: joined.participants.map(quiet),
        dominantId: joined.dominantSpeakerId ?? undefined,
        chat: joined.chat,
      });

      this.#iceServers = joined.iceServers;
      const device = new Device();
      await device.load({ routerRtpCapabilities: joined.routerRtpCapabilities as types.RtpCapabilities });
      this.#device = device;

      if (mic && joined.role !== 'listener' && device.canProduce('audio')) {
        this.#sendTransport = await this.#createTransport('send');
        this.#producer = await this.#sendTransport.produce({
          track: mic,
          // Mono voice, DTX (no packets while silent), in-band FEC (recovers lost packets).
          codecOptions: {
            opusStereo: false,
            opusDtx: true,
            opusFec: true,
            opusMaxAverageBitrate: joined.audio.maxBitrate,
          },
          stopTracks: false,
        });
      }
      this.#recvTransport = await this.#createTransport('recv');
      await signaling.request('consume', { rtpCapabilities: device.rtpCapabilities as never });
      this.#set({ phase: 'joined' });
      void this.refreshMics();
    } catch (err) {
      this.#fail(describeError(err));
    }
  }

  async #openMic(micId?: string): Promise<MediaStreamTrack | undefined> {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { deviceId: micId ? { exact: micId } : undefined, echoCancellation: true, noiseSuppression: true },
      });
      const track = stream.getAudioTracks()[0]!;
      this.#setMicTrack(track);
      return track;
    } catch (err) {
      const name = (err as Error).name;
      const micError =
        name === 'NotAllowedError' || name === 'SecurityError'
          ? 'Microphone access was denied. You can listen; allow the microphone in your browser and rejoin to speak.'
          : name === 'NotFoundError' || name === 'OverconstrainedError'
            ? 'No microphone was found. You can listen; connect one and rejoin to speak.'
            : `The microphone could not be opened (${(err as Error).message}). You can listen.`;
      this.#set({ micError, muted: true });
      return undefined;
    }
  }

  #setMicTrack(track: MediaStreamTrack): void {
    this.#micTrack?.stop();
    this.#micLevel?.close();
    this.#micTrack = track;
    this.#micLevel = new MicLevel(track, (level) => this.#set({ level }));
    this.#set({ micId: track.getSettings().deviceId ?? this.#state.micId });
  }

  #iceServers: RTCIceServer[] = [];

  async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const signaling = this.#signaling!;
    const options = await signaling.request('createTransport', { direction });
    // TURN (if the server hands any out) for networks that block direct UDP/TCP.
    const params = { ...(options as unknown as types.TransportOptions), iceServers: this.#iceServers };
    const transport =
      direction === 'send' ? this.#device!.createSendTransport(params) : this.#device!.createRecvTransport(params);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      signaling
        .request('connectTransport', { transportId: transport.id, dtlsParameters: dtlsParameters as never })
        .then(() => callback())
        .catch(errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ rtpParameters }, callback, errback) => {
        signaling
          .request('produce', { transportId: transport.id, kind: 'audio', rtpParameters: rtpParameters as never })
          .then(({ producerId }) => callback({ id: producerId }))
          .catch(errback);
      });
    }
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed') this.#fail('The media connection failed (a firewall may block UDP/TCP to the server).');
    });
    return transport;
  }

  async #onNotification(n: Notification): Promise<void> {
    switch (n.notification) {
      case 'participantJoined':
        this.#set({ participants: [...this.#state.participants, quiet(n.data.participant)] });
        break;
      case 'participantLeft':
        if (n.data.participantId === this.#state.selfId) {
          this.#fail(
            n.data.reason === 'removed'
              ? 'A moderator removed you from the room.'
              : n.data.reason === 'replaced'
                ? 'You joined this room from another tab or device, so this one left.'
                : 'You were disconnected from the room. Rejoin to continue.',
          );
          break;
        }
        this.#set({ participants: this.#state.participants.filter((p) => p.id !== n.data.participantId) });
        break;
      case 'producerPaused':
      case 'producerResumed':
        this.#updateParticipant(n.data.participantId, { muted: n.notification === 'producerPaused' });
        break;
      case 'newConsumer': {
        const { consumerId, producerId, participantId, rtpParameters } = n.data;
        if (!this.#recvTransport) break;
        const consumer = await this.#recvTransport.consume({
          id: consumerId,
          producerId,
          kind: 'audio',
          rtpParameters: rtpParameters as types.RtpParameters,
        });
        this.#consumers.set(consumerId, { consumer, participantId });
        this.#updateParticipant(participantId, { stream: new MediaStream([consumer.track]) });
        await this.#signaling!.request('consumerReady', { consumerId });
        break;
      }
      case 'consumerClosed': {
        const entry = this.#consumers.get(n.data.consumerId);
        if (!entry) break;
        entry.consumer.close();
        this.#consumers.delete(n.data.consumerId);
        this.#updateParticipant(entry.participantId, { stream: undefined });
        break;
      }
      case 'speakers': {
        const levels = new Map(n.data.levels.map((l) => [l.participantId, l]));
        const self = levels.get(this.#state.selfId ?? '');
        this.#set({
          speaking: self?.speaking ?? false,
          participants: this.#state.participants.map((p) => ({
            ...p,
            speaking: levels.get(p.id)?.speaking ?? false,
            level: levels.get(p.id)?.level ?? 0,
          })),
        });
        break;
      }
      case 'forceMuted':
        this.#producer?.pause();
        this.#set({ muted: true, forceMuted: n.data });
        break;
      case 'chatMessage':
        this.#set({ chat: [...this.#state.chat, n.data].slice(-200) });
        break;
      case 'dominantSpeaker':
        this.#set({ dominantId: n.data.participantId });
        break;
      case 'roomClosed':
        this.#fail(
          n.data.reason === 'serverShutdown'
            ? 'The server is restarting. Rejoin in a moment.'
            : 'The room was closed by the server. Rejoin to continue.',
        );
        break;
    }
  }

  async setMuted(muted: boolean): Promise<void> {
    if (!this.#producer || muted === this.#state.muted) return;
    if (!muted && this.#state.forceMuted && !this.#state.forceMuted.allowUnmute) return;
    if (muted) this.#producer.pause();
    else this.#producer.resume();
    this.#set({ muted, forceMuted: muted ? this.#state.forceMuted : undefined });
    await this.#signaling?.request(muted ? 'mute' : 'unmute', {});
  }

  /** Sends a chat message; resolves false (with chatError set) if the server refused it. */
  async sendChat(text: string): Promise<boolean> {
    try {
      await this.#signaling?.request('chat', { text });
      if (this.#state.chatError) this.#set({ chatError: undefined });
      return true;
    } catch (err) {
      this.#set({ chatError: (err as Error).message });
      return false;
    }
  }

  /** Moderators: mute someone (they may unmute themselves only if allowUnmute). */
  async forceMute(participantId: string, allowUnmute = false): Promise<void> {
    await this.#signaling?.request('forceMute', { participantId, allowUnmute });
  }

  /** Moderators: remove someone from the room. */
  async remove(participantId: string): Promise<void> {
    await this.#signaling?.request('remove', { participantId });
  }

  async selectMic(deviceId: string): Promise<void> {
    if (this.#state.phase !== 'joined' || !this.#producer) {
      this.#set({ micId: deviceId });
      return;
    }
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { deviceId: { exact: deviceId } } });
    const track = stream.getAudioTracks()[0]!;
    await this.#producer.replaceTrack({ track });
    this.#setMicTrack(track);
  }

  async refreshMics(): Promise<void> {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const mics = devices
      .filter((d) => d.kind === 'audioinput')
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Microphone ${i + 1}` }));
    this.#set({ mics });
  }

  setAudioBlocked(audioBlocked: boolean): void {
    if (audioBlocked !== this.#state.audioBlocked) this.#set({ audioBlocked });
  }

  async leave(): Promise<void> {
    try {
      await this.#signaling?.request('leave', {});
    } catch {
      // Leaving anyway.
    }
    this.#teardown();
    this.#set({ ...initial, phase: 'left', mics: this.#state.mics, micId: this.#state.micId });
  }

  #fail(error: string): void {
    if (this.#state.phase === 'left' || this.#state.phase === 'error') return;
    this.#teardown();
    this.#set({ phase: 'error', error, participants: [], level: 0 });
  }

  #teardown(): void {
    this.#signaling?.close();
    this.#signaling = undefined;
    this.#sendTransport?.close();
    this.#recvTransport?.close();
    this.#sendTransport = this.#recvTransport = this.#producer = undefined;
    this.#consumers.clear();
    this.#micLevel?.close();
    this.#micTrack?.stop();
    this.#micLevel = this.#micTrack = undefined;
  }
}
