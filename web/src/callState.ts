// The call as the page shows it: one immutable snapshot (CallState) that the
// RoomClient replaces on every change and React renders, and the words the page
// uses when a call ends.
import type { ChatMessage, LeaveReason, ParticipantInfo, RaisedHand, Role } from '../../protocol/messages.ts';
import { SIGNALING_PATH } from '../../protocol/messages.ts';
import type { QualityLevel } from '../../protocol/connectionQuality.ts';
import { type AudioSettings, loadAudioSettings } from './audioSettings.ts';
import type { TransportStats } from './stats/digest.ts';

export type Phase = 'idle' | 'connecting' | 'joined' | 'left' | 'error';

export interface RemoteParticipant extends ParticipantInfo {
  /** The participant's audio, once the server forwards it to us. */
  stream?: MediaStream;
  /** Speaking now (the server's measure), and how loud (0..1). */
  speaking: boolean;
  level: number;
  /** Their connection as the server sees it (undefined until its first report). */
  quality?: QualityLevel;
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
  /** Something happened to the microphone that the person should know (it was unplugged: we switched). */
  micNotice?: string;
  /** We are muted and the meter hears speech: "you are muted". */
  speakingWhileMuted: boolean;
  /** Microphone processing and push-to-talk (remembered in localStorage). */
  settings: AudioSettings;
  /** Playback volume per participant id, 0..2 (this page only; 1 when absent). */
  volumes: Record<string, number>;
  /** Why the call failed or ended. */
  error?: string;
  /** The browser refused to play audio without a user gesture. */
  audioBlocked: boolean;
  /** The connection to the server dropped and we are getting it back: the attempt (the call goes on meanwhile). */
  reconnecting?: number;
  /** Our own connection quality, from the browser's statistics. */
  quality?: QualityLevel;
  /** Our transports and streams, refreshed every second (the stats panel). */
  stats: TransportStats[];
  /** Raised hands, first raised first (ours included). */
  hands: RaisedHand[];
  /** The latest things a screen reader should hear (joins, leaves, mutes, hands), newest last. */
  announcements: { id: number; text: string }[];
}

export interface JoinOptions {
  room: string;
  displayName?: string;
  /** A join token; without one, a dev-mode server is asked for one. */
  token?: string;
  role?: Role;
  micId?: string;
}

export const initial: CallState = {
  phase: 'idle',
  participants: [],
  muted: false,
  level: 0,
  speaking: false,
  mics: [],
  audioBlocked: false,
  chat: [],
  hands: [],
  announcements: [],
  stats: [],
  speakingWhileMuted: false,
  settings: loadAudioSettings(),
  volumes: {},
};

/** MicLevel's 0..1 scale maps -60..0 dBFS: 0.2 ≈ -48 dBFS. */
export const VOICE_LEVEL = 0.2;

export const quiet = (p: ParticipantInfo): RemoteParticipant => ({ ...p, speaking: false, level: 0 });
/** What the page says when the call ended without us leaving. */
export function endedMessage(reason: LeaveReason): string {
  switch (reason) {
    case 'removed':
      return 'A moderator removed you from the room.';
    case 'replaced':
      return 'You joined this room from another tab or device, so this one left.';
    case 'serverShutdown':
      return 'The server is restarting. Rejoin in a moment.';
    case 'workerDied':
    case 'roomClosed':
      return 'The room was closed by the server. Rejoin to continue.';
    case 'transportFailed':
      return 'The media connection failed (a firewall may block UDP/TCP to the server).';
    case 'disconnected':
      return 'The connection to the server was lost. Rejoin to continue.';
    default:
      return 'You were disconnected from the room. Rejoin to continue.';
  }
}

export function signalingUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}${SIGNALING_PATH}`;
}
