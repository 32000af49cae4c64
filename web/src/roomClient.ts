// The browser side of a call: the client core's Call (signaling, join
// sequence, transports, consumers) plus what only a page has: the microphone
// and its level meter, remote audio (each person at their own volume), the
// statistics poller, and a snapshot of the call for React
// (subscribe/getSnapshot; callState.ts). React only reads the snapshots and
// calls this object's methods.
import { Device } from 'mediasoup-client';
import { Call } from '../../client/call.ts';
import type { Notification } from '../../protocol/messages.ts';
import { type QualityLevel, worseOf } from '../../protocol/connectionQuality.ts';
import { announcementFor } from './announcements.ts';
import { type AudioSettings, saveAudioSettings } from './audioSettings.ts';
import { type CallState, type JoinOptions, type RemoteParticipant, VOICE_LEVEL, endedMessage, initial, quiet, signalingUrl } from './callState.ts';
import { describeError } from './describeError.ts';
import { fetchDevToken } from './devToken.ts';
import { Microphone } from './microphone.ts';
import { Playback } from './playback.ts';
import { StatsPoller } from './stats/statsPoller.ts';

export type { CallState, JoinOptions, Phase, RemoteParticipant } from './callState.ts';


export class RoomClient {
  #state: CallState = initial;
  readonly #listeners = new Set<() => void>();
  #call?: Call;
  readonly #mic = new Microphone({
    onLevel: (level) => {
      this.#set({ level });
      this.#detectVoiceStart(level);
    },
    onTick: (level) => this.#detectSpeechWhileMuted(level),
    onLost: () => void this.#fallBackToDefaultMic(),
  });
  /** Remote audio, each person at their own volume. */
  readonly playback = new Playback();

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
    this.#set({ ...initial, phase: 'connecting', room, displayName, mics: this.#state.mics, micId, settings: this.#state.settings });
    try {
      const joinToken = token ?? (await fetchDevToken(room, displayName ?? '', role));
      const mic = await this.#openMic(micId);
      const call = new Call({
        url: signalingUrl(),
        createSocket: (url) => new WebSocket(url),
        loadDevice: async (routerRtpCapabilities) => {
          const device = new Device();
          await device.load({ routerRtpCapabilities });
          return device;
        },
        room,
        token: joinToken,
        // A rejoin (the server restarted, the room's worker died) needs a token again:
        // the invitation's, or a new one from a dev-mode server.
        refreshToken: () => (token ? Promise.resolve(token) : fetchDevToken(room, displayName ?? '', role)),
        track: mic,
        // Mono voice, DTX (no packets while silent), in-band FEC (recovers lost packets).
        codecOptions: { opusStereo: false, opusDtx: true, opusFec: true },
      });
      this.#call = call;
      this.#watch(call);
      await call.join();
      this.#set({ phase: 'joined' });
      this.#stats = new StatsPoller(call, ({ transports, quality }) => {
        this.#localQuality = quality;
        this.#set({ stats: transports, quality: worseOf(quality, this.#serverQuality) });
      });
      void this.refreshMics();
      // The list follows plugging and unplugging.
      const onDeviceChange = () => void this.refreshMics();
      navigator.mediaDevices.addEventListener('devicechange', onDeviceChange);
      this.#stopDeviceWatch = () => navigator.mediaDevices.removeEventListener('devicechange', onDeviceChange);
      if (this.#state.settings.pushToTalk) void this.setMuted(true);
    } catch (err) {
      this.#fail(describeError(err));
    }
  }

  /** Listens to the call before it joins, so nothing it tells during the join is missed. */
  #watch(call: Call): void {
    call.on('joined', (joined) =>
      this.#set({
        selfId: joined.participantId,
        room: joined.room,
        displayName: joined.displayName,
        role: joined.role,
        participants: joined.participants.map(quiet),
        dominantId: joined.dominantSpeakerId ?? undefined,
        chat: joined.chat,
        hands: joined.raisedHands,
      }),
    );
    call.on('consumer', ({ consumer, participantId }) => {
      this.#updateParticipant(participantId, { stream: new MediaStream([consumer.track]) });
    });
    call.on('consumerClosed', ({ participantId }) => this.#updateParticipant(participantId, { stream: undefined }));
    call.on('notification', (n) => this.#onNotification(n));
    call.on('reconnecting', (attempt) => this.#set({ reconnecting: attempt }));
    call.on('resumed', () => this.#set({ reconnecting: undefined }));
    call.on('rejoining', (attempt) => this.#set({ reconnecting: attempt }));
    // A new network (Wi-Fi to cellular, a VPN): new ICE paths at once, before the old ones time out.
    const online = () => void call.restartIce();
    window.addEventListener('online', online);
    call.on('ended', () => window.removeEventListener('online', online));
    this.#stopWatching = () => window.removeEventListener('online', online);
    call.on('rejoined', () => this.#set({ reconnecting: undefined }));
    // The room moved off a dead worker: our media is set up again on another one.
    call.on('moving', () => this.#set({ reconnecting: 1 }));
    call.on('moved', () => this.#set({ reconnecting: undefined }));
    call.on('ended', (reason) => this.#fail(endedMessage(reason)));
  }

  async #openMic(micId?: string): Promise<MediaStreamTrack | undefined> {
    try {
      const track = await Microphone.open(this.#state.settings, micId);
      this.#useMic(track);
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

  #useMic(track: MediaStreamTrack): void {
    this.#mic.use(track);
    this.#set({ micId: track.getSettings().deviceId ?? this.#state.micId });
  }

  /** Sends from a new track of `deviceId` (or the default), with the current settings. */
  async #switchMic(deviceId?: string): Promise<void> {
    const track = await Microphone.open(this.#state.settings, deviceId);
    await this.#call?.replaceTrack(track);
    this.#useMic(track);
  }

  /** The microphone in use went away: send from the default one, and say so; never go quiet silently. */
  async #fallBackToDefaultMic(): Promise<void> {
    if (this.#state.phase !== 'joined' || !this.#call?.producer) return;
    const gone = this.#state.mics.find((m) => m.deviceId === this.#state.micId)?.label ?? 'Your microphone';
    try {
      await this.#switchMic();
      this.#set({ micNotice: `${gone} stopped working (unplugged?). You are now heard through the default microphone.` });
    } catch (err) {
      this.#set({ micError: `${gone} stopped working and no other microphone could be opened (${(err as Error).message}).` });
    }
    void this.refreshMics();
  }

  /** Loud frames while muted, for the "you are muted" hint: on after 0.3 s of speech, off after 2 s without. */
  #mutedSpeechSince = 0;
  #mutedQuietSince = 0;
  #detectSpeechWhileMuted(level: number): void {
    const now = performance.now();
    if (!this.#state.muted || level < VOICE_LEVEL) {
      this.#mutedSpeechSince = 0;
      if (!this.#mutedQuietSince) this.#mutedQuietSince = now;
      if (this.#state.speakingWhileMuted && (!this.#state.muted || now - this.#mutedQuietSince > 2000)) {
        this.#set({ speakingWhileMuted: false });
      }
      return;
    }
    this.#mutedQuietSince = 0;
    this.#mutedSpeechSince ||= now;
    if (!this.#state.speakingWhileMuted && now - this.#mutedSpeechSince >= 300 && !this.#state.forceMuted) {
      this.#set({ speakingWhileMuted: true });
    }
  }

  /** When our level last was at speaking level (ms), for the voice hint. */
  #lastVoiceAt = 0;

  /**
   * Our microphone goes from quiet (half a second or more) to speaking level
   * (≈ -48 dBFS, just above the server's -50 dBov threshold): tell the server
   * at once, so that it need not wait for its level observer to forward us.
   */
  #detectVoiceStart(level: number): void {
    if (level < VOICE_LEVEL) return;
    const now = performance.now();
    const quietFor = now - this.#lastVoiceAt;
    this.#lastVoiceAt = now;
    if (quietFor >= 500 && !this.#state.muted) void this.#call?.hintSpeaking();
  }

  /** Applies what the call core passes on (consumers and our own ending it handled itself). */
  #onNotification(n: Notification): void {
    const announce = announcementFor(n, this.#state);
    if (announce) this.#announce(announce);
    switch (n.notification) {
      case 'participantJoined':
        this.#set({ participants: [...this.#state.participants, quiet(n.data.participant)] });
        break;
      case 'participantLeft':
        this.#set({
          participants: this.#state.participants.filter((p) => p.id !== n.data.participantId),
          hands: this.#state.hands.filter((h) => h.participantId !== n.data.participantId),
        });
        break;
      case 'producerPaused':
      case 'producerResumed':
        this.#updateParticipant(n.data.participantId, { muted: n.notification === 'producerPaused' });
        break;
      case 'raisedHands':
        this.#set({ hands: n.data.hands });
        break;
      case 'connectionQuality': {
        const levels = new Map(n.data.levels.map((l) => [l.participantId, l.level]));
        this.#serverQuality = levels.get(this.#state.selfId ?? '') ?? this.#serverQuality;
        this.#set({
          quality: worseOf(this.#localQuality, this.#serverQuality),
          participants: this.#state.participants.map((p) => ({ ...p, quality: levels.get(p.id) ?? p.quality })),
        });
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
        this.#call?.producer?.pause();
        this.#set({ muted: true, forceMuted: n.data });
        break;
      case 'chatMessage':
        this.#set({ chat: [...this.#state.chat, n.data].slice(-200) });
        break;
      case 'dominantSpeaker':
        this.#set({ dominantId: n.data.participantId });
        break;
      default:
        break;
    }
  }

  async setMuted(muted: boolean): Promise<void> {
    if (!this.#call?.producer || muted === this.#state.muted) return;
    if (!muted && this.#state.forceMuted && !this.#state.forceMuted.allowUnmute) return;
    this.#set({ muted, forceMuted: muted ? this.#state.forceMuted : undefined });
    this.#announce(muted ? 'You are muted' : 'You are unmuted');
    await this.#call.setMuted(muted);
  }

  /** Sends a chat message; resolves false (with chatError set) if the server refused it. */
  async sendChat(text: string): Promise<boolean> {
    try {
      await this.#call?.signaling.call('chat', { text });
      if (this.#state.chatError) this.#set({ chatError: undefined });
      return true;
    } catch (err) {
      this.#set({ chatError: (err as Error).message });
      return false;
    }
  }

  #announcementId = 0;

  /** Something a screen reader should say (an aria-live region shows the last few). */
  #announce(text: string): void {
    this.#set({ announcements: [...this.#state.announcements, { id: ++this.#announcementId, text }].slice(-3) });
  }

  /** Raises our hand (true) or lowers it (false). */
  async setHandRaised(raised: boolean): Promise<void> {
    await this.#call?.signaling.call(raised ? 'raiseHand' : 'lowerHand', {}).catch((err: Error) => this.#announce(err.message));
  }

  /** Moderators: lower someone's hand. */
  async lowerHand(participantId: string): Promise<void> {
    await this.#call?.signaling.call('lowerHand', { participantId }).catch((err: Error) => this.#announce(err.message));
  }

  /** Moderators: mute someone (they may unmute themselves only if allowUnmute). */
  async forceMute(participantId: string, allowUnmute = false): Promise<void> {
    await this.#call?.signaling.call('forceMute', { participantId, allowUnmute });
  }

  /** Moderators: remove someone from the room. */
  async remove(participantId: string): Promise<void> {
    await this.#call?.signaling.call('remove', { participantId });
  }

  async selectMic(deviceId: string): Promise<void> {
    if (this.#state.phase !== 'joined' || !this.#call?.producer) {
      this.#set({ micId: deviceId });
      return;
    }
    await this.#switchMic(deviceId);
    this.#set({ micNotice: undefined });
  }

  /** Changes microphone processing or push-to-talk; remembered for the next calls. */
  async setAudioSettings(patch: Partial<AudioSettings>): Promise<void> {
    const before = this.#state.settings;
    const settings = { ...before, ...patch };
    saveAudioSettings(settings);
    this.#set({ settings });
    if (settings.pushToTalk && !before.pushToTalk) await this.setMuted(true);
    const processing = (['echoCancellation', 'noiseSuppression', 'autoGainControl'] as const).some((k) => settings[k] !== before[k]);
    // Browsers apply these only when opening the device: open it again, same device.
    if (processing && this.#state.phase === 'joined' && this.#call?.producer) await this.#switchMic(this.#state.micId);
  }

  /** Push-to-talk: Space held or released. */
  talk(held: boolean): void {
    if (this.#state.settings.pushToTalk) void this.setMuted(!held);
  }

  /** This page's playback volume of one person (0..2). */
  setVolume(participantId: string, volume: number): void {
    this.#set({ volumes: { ...this.#state.volumes, [participantId]: Math.min(2, Math.max(0, volume)) } });
  }

  async refreshMics(): Promise<void> {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const mics = devices
      .filter((d) => d.kind === 'audioinput')
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Microphone ${i + 1}` }));
    this.#set({ mics });
  }

  setAudioBlocked(audioBlocked: boolean): void {
    if (!audioBlocked) this.playback.resume(); // a click: the AudioContext may start now
    if (audioBlocked !== this.#state.audioBlocked) this.#set({ audioBlocked });
  }

  async leave(): Promise<void> {
    await this.#call?.leave();
    this.#teardown();
    this.#set({ ...initial, phase: 'left', mics: this.#state.mics, micId: this.#state.micId, settings: this.#state.settings });
  }

  #fail(error: string): void {
    if (this.#state.phase === 'left' || this.#state.phase === 'error') return;
    this.#teardown();
    this.#set({ phase: 'error', error, participants: [], level: 0, reconnecting: undefined });
  }

  #stopWatching?: () => void;

  #stats?: StatsPoller;
  #stopDeviceWatch?: () => void;
  /**
   * Our connection quality, two ways: what our browser measures (whether
   * anything arrives, RTT) and how the server rates our streams (loss, jitter);
   * the page shows the worse.
   */
  #localQuality?: QualityLevel;
  #serverQuality?: QualityLevel;

  #teardown(): void {
    this.#stats?.stop();
    this.#stats = undefined;
    this.#localQuality = this.#serverQuality = undefined;
    this.#stopWatching?.();
    void this.#call?.close();
    this.#call = undefined;
    this.#stopDeviceWatch?.();
    this.#mic.close();
  }
}
