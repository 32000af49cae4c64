// A participant in Node: the client core (Call) over real WebRTC (ICE, DTLS,
// SRTP) with werift, sending pre-encoded Opus at 50 packets/s and counting
// what it receives per speaker. Used by the tests, the load tool and the
// benchmarks.
import type * as werift from 'werift';
import { RtpHeader, RtpPacket, MediaStreamTrack as WeriftTrack } from 'werift';
import WebSocket from 'ws';
import type { Role } from '../../protocol/messages.ts';
import { Call, type JoinStep } from '../call.ts';
import { type SignalingClient, SignalingError, type SocketLike } from '../signaling.ts';
import { ensureDtlsKeys, sharedDevice } from './werift.ts';

export { JOIN_STEPS, type JoinStep } from '../call.ts';

/** Where and how a Node client joins: the WebSocket URL, and a token for a room. */
export interface JoinTarget {
  wsUrl: string;
  token(room: string, displayName: string, role?: Role, identity?: string): Promise<string>;
}

/** Node's socket for the client core: the `ws` package has the browser's on* API. */
export const nodeSocket = (url: string): SocketLike => new WebSocket(url);

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
/** A speaking voice: -20 dBov. */
export const TALK_DBOV = -20;

export interface PeerOptions {
  role?: Role;
  /** Called for every audio packet received, with the sender's participant id. */
  onRtp?: (from: string, rtp: werift.RtpPacket, arrivalMs: number, peer: NodePeer) => void;
  /** Whether the peer talks from its first packet (default) or sends DTX silence until `talking` is set. */
  talking?: boolean;
  /** Called once if something fails after the join (without it, a failure other than a removal is thrown, unhandled). */
  onFailure?: (err: Error) => void;
  /** Tell the server when we start talking (the protocol's `speaking` hint), as the web page does. */
  voiceHints?: boolean;
  /** Tell the server a wrong DTLS fingerprint, so the DTLS handshake fails. */
  corruptDtlsFingerprint?: boolean;
}

export interface Reception {
  packets: number;
  bytes: number;
  lastAt: number;
}

export class NodePeer {
  readonly received = new Map<string, Reception>(); // by sending participant id
  #sender?: NodeJS.Timeout;
  #closed = false;
  readonly #packetWatchers = new Set<(from: string) => void>();

  /** When the first audio packet from anyone arrived (Date.now()), if one has. */
  firstPacketAt?: number;
  /** The first thing that went wrong after the join (the server removed us, a consume failed). */
  failure?: Error;
  #talking = true;
  /** Whether this peer talks (50 packets/s at TALK_DBOV) or is silent (Opus DTX: one packet per 400 ms, level -127). */
  get talking(): boolean {
    return this.#talking;
  }
  set talking(talking: boolean) {
    // As a browser's voice detection would: say so when we start (with PeerOptions.voiceHints).
    if (talking && !this.#talking && this.options.voiceHints) void this.call.hintSpeaking();
    this.#talking = talking;
  }
  /** The first loud frame sent since `talking` last became true (RTP header values as sent, and when). */
  talkStart?: { sequenceNumber: number; timestamp: number; sentAt: number };

  private constructor(
    readonly call: Call,
    readonly options: PeerOptions,
  ) {
    call.on('consumer', ({ consumer, participantId }) => {
      const stats = this.received.get(participantId) ?? { packets: 0, bytes: 0, lastAt: 0 };
      this.received.set(participantId, stats);
      (consumer.track as unknown as WeriftTrack).onReceiveRtp.subscribe((rtp) => {
        const now = Date.now();
        stats.packets++;
        stats.bytes += rtp.payload.length;
        stats.lastAt = now;
        this.firstPacketAt ??= now;
        this.options.onRtp?.(participantId, rtp, now, this);
        for (const watch of this.#packetWatchers) watch(participantId);
      });
    });
    call.on('ended', (reason, error) => {
      if (this.#closed) return;
      // A refusal from the server (e.g. a resume refused) is an outcome to record, not a crash.
      this.#fail(error ?? new Error(`removed by the server: ${reason}`), error !== undefined && !(error instanceof SignalingError));
    });
  }

  /** Joins `room` and, when `opus` is given, sends it in a loop. */
  static async join(
    target: JoinTarget,
    room: string,
    displayName: string,
    opus?: Buffer[],
    options: PeerOptions = {},
  ): Promise<NodePeer> {
    await ensureDtlsKeys();
    const token = await target.token(room, displayName, options.role);
    const track = opus ? new WeriftTrack({ kind: 'audio' }) : undefined;
    // Listen before joining: the call may end (or tell something) during its join.
    const call = new Call({
      url: target.wsUrl,
      createSocket: nodeSocket,
      loadDevice: sharedDevice,
      room,
      token,
      track: track as unknown as MediaStreamTrack | undefined, // werift's track stands in for the DOM's
      transformDtlsParameters: options.corruptDtlsFingerprint ? corruptFingerprint : undefined,
    });
    const peer = new NodePeer(call, options);
    peer.talking = options.talking ?? true;
    await call.join();
    if (track && call.producer) {
      const levelExt = call.producer.rtpParameters.headerExtensions?.find((h) => h.uri === AUDIO_LEVEL_URI);
      if (!levelExt) throw new Error('the audio-level header extension was not negotiated');
      peer.#startSending(track, opus!, levelExt.id);
    }
    return peer;
  }

  get participantId(): string {
    return this.call.participantId;
  }
  get signaling(): SignalingClient {
    return this.call.signaling;
  }
  /** When each step of the join completed (Date.now()); see JOIN_STEPS. */
  get marks(): Partial<Record<JoinStep, number>> {
    return this.call.steps;
  }
  /** When the WebSocket opened (Date.now()). */
  get wsOpenAt(): number {
    return this.call.connectedAt;
  }
  /** When the first WebSocket of the join opened (Date.now()): the same as wsOpenAt unless the join was redirected (WRONG_NODE). */
  get firstWsOpenAt(): number {
    return this.call.firstConnectedAt;
  }

  /**
   * Sends one 20 ms frame per 20 ms of wall clock. A timer alone would not:
   * when the event loop is late, Node fires one tick for several missed ones,
   * and a talker under load sent too few packets for mediasoup's level observer
   * (10 per 250 ms interval) to count it as speaking. Late frames go out at once,
   * as a browser's clocked capture would send them (at most MAX_CATCH_UP).
   */
  #startSending(track: WeriftTrack, opus: Buffer[], levelExtId: number): void {
    const FRAME_MS = 20;
    const MAX_CATCH_UP = 10;
    const startedAt = performance.now();
    let frames = 0; // frames due so far, sent or (DTX) skipped
    let i = 0;
    let seq = Math.floor(Math.random() * 65535);
    let ts = Math.floor(Math.random() * 2 ** 31);
    let wasTalking = false;
    const sendFrame = () => {
      ts = (ts + 960) >>> 0; // 20 ms at 48 kHz
      if (this.talking && !wasTalking) this.talkStart = { sequenceNumber: seq, timestamp: ts, sentAt: Date.now() };
      wasTalking = this.talking;
      if (!this.talking && frames % 20 !== 0) return; // DTX: the clock runs on, packets pause
      const level = this.talking ? -TALK_DBOV : 127;
      const header = new RtpHeader({
        payloadType: 111,
        sequenceNumber: seq,
        timestamp: ts,
        marker: false,
        extensions: [{ id: levelExtId, payload: Buffer.from([level]) }],
      });
      // A DTX frame is a 1-byte Opus packet (TOC only); talking sends the tone.
      const payload = this.talking ? opus[i++ % opus.length]! : Buffer.from([opus[0]![0]! & 0xfc]);
      track.writeRtp(new RtpPacket(header, payload));
      seq = (seq + 1) & 0xffff;
    };
    this.#sender = setInterval(() => {
      const due = Math.floor((performance.now() - startedAt) / FRAME_MS) + 1;
      if (due - frames > MAX_CATCH_UP) {
        // Too far behind: drop the oldest frames (the clock still advances).
        ts = (ts + 960 * (due - frames - MAX_CATCH_UP)) >>> 0;
        frames = due - MAX_CATCH_UP;
      }
      for (; frames < due; frames++) sendFrame();
    }, FRAME_MS);
  }

  #fail(err: Error, throwUnlessHandled: boolean): void {
    if (this.failure) return;
    this.failure = err;
    if (this.options.onFailure) this.options.onFailure(err);
    else if (throwUnlessHandled)
      queueMicrotask(() => {
        throw err;
      });
  }

  /** Resolves with the time (Date.now()) the next packet from `participantId` arrives. */
  nextPacketFrom(participantId: string): Promise<number> {
    return new Promise((resolve) => {
      const watch = (from: string) => {
        if (from !== participantId) return;
        this.#packetWatchers.delete(watch);
        resolve(Date.now());
      };
      this.#packetWatchers.add(watch);
    });
  }

  packetsFrom(participantId: string): number {
    return this.received.get(participantId)?.packets ?? 0;
  }

  stopSending(): void {
    clearInterval(this.#sender);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.stopSending();
    await this.call.close();
  }
}

/** A DTLS fingerprint that is not ours: the server's handshake with us fails. */
function corruptFingerprint(dtls: import('mediasoup-client').types.DtlsParameters) {
  const [first] = dtls.fingerprints;
  const value = first!.value.replace(/^../, first!.value.startsWith('00') ? '11' : '00');
  return { ...dtls, fingerprints: [{ ...first!, value }] };
}
