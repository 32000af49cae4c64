// A participant in Node: the real protocol (ProtocolClient), real WebRTC (ICE,
// DTLS, SRTP) through upstream mediasoup-client running over werift, sending
// pre-encoded Opus at 50 packets/s and counting what it receives per speaker.
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import * as werift from 'werift';
import { PROTOCOL_VERSION, type Role } from '../../sfu/protocol/messages.ts';
import type { JoinTarget } from './joinTarget.ts';
import { ProtocolClient } from './protocolClient.ts';

/**
 * werift's peer connection as a browser's would be for Chorus: it negotiates
 * the audio-level header extension (the server's speaker detection reads it),
 * uses no STUN server (none is reachable, none is needed on loopback) and
 * offers 127.0.0.1 as a host candidate.
 */
class PeerConnection extends werift.RTCPeerConnection {
  constructor(config: Partial<werift.PeerConfig> = {}) {
    super({
      ...config,
      dtls: { keys: dtlsKeys },
      iceServers: [],
      iceAdditionalHostAddresses: ['127.0.0.1'],
      headerExtensions: { audio: [werift.useSdesMid(), werift.useAudioLevelIndication()], video: [] },
    });
  }
}

/**
 * werift's ICE falls back to stun.l.google.com when no STUN server is given
 * (and its config merge keeps that default over `iceServers: []`), so every
 * gathering waited on a lookup that cannot succeed offline: up to 5 s under
 * load. With no STUN server configured a browser gathers host candidates only;
 * so do we.
 */
const gatherCandidates = werift.Connection.prototype.gatherCandidates;
werift.Connection.prototype.gatherCandidates = function (this: werift.Connection) {
  this.stunServer = undefined;
  return gatherCandidates.call(this);
};

/**
 * One DTLS certificate for every peer connection of this process (as a browser
 * tab may reuse one): werift would otherwise make a key pair per transport,
 * CPU a load generator needs for the joins themselves. Made before the first join.
 */
let dtlsKeys: werift.DtlsKeys | undefined;
async function ensureDtlsKeys(): Promise<void> {
  dtlsKeys ??= await werift.CipherContext.createSelfSignedCertificateWithKey(
    { signature: werift.SignatureAlgorithm.ecdsa_3, hash: werift.HashAlgorithm.sha256_4 },
    werift.NamedCurveAlgorithm.secp256r1_23,
  );
}

/**
 * A loaded mediasoup-client Device per router capabilities, shared by this
 * process's peers: loading one opens and closes probe peer connections, and
 * every room's router has the same capabilities. Transports stay per peer.
 */
const devices = new Map<string, Promise<Device>>();
function loadedDevice(routerRtpCapabilities: types.RtpCapabilities): Promise<Device> {
  const key = JSON.stringify(routerRtpCapabilities);
  let device = devices.get(key);
  if (!device) {
    const d = new Device({ handlerName: 'Chrome111' });
    device = d.load({ routerRtpCapabilities }).then(() => d);
    device.catch(() => devices.delete(key));
    devices.set(key, device);
  }
  return device;
}

/**
 * werift's DTLS client sleeps a fixed 100 ms after ICE before its first flight
 * (no browser does); that sleep was most of a join on an idle machine. Start
 * the handshake at once and hand werift the same attempt when it wakes.
 */
const startDtls = werift.RTCDtlsTransport.prototype.start;
werift.RTCDtlsTransport.prototype.start = function (this: werift.RTCDtlsTransport) {
  const started = startDtls.call(this); // runs synchronously up to werift's sleep: this.dtls exists
  const dtls = this.dtls;
  if (dtls instanceof werift.DtlsClient) {
    const connecting = dtls.connect();
    connecting.catch(() => {}); // werift's own handler, attached after its sleep, reports failures
    dtls.connect = () => connecting;
  }
  return started;
};

// mediasoup-client's Chrome111 handler uses the global WebRTC classes.
Object.assign(globalThis, { RTCPeerConnection: PeerConnection, MediaStream: werift.MediaStream });

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
/** A speaking voice: -20 dBov. */
export const TALK_DBOV = -20;

export interface PeerOptions {
  role?: Role;
  /** Called for every audio packet received, with the sender's participant id. */
  onRtp?: (from: string, rtp: werift.RtpPacket, arrivalMs: number, peer: NodePeer) => void;
  /** Whether the peer talks from its first packet (default) or sends DTX silence until `talking` is set. */
  talking?: boolean;
  /** Called once if something fails after the join (without it, a failed consume is thrown, unhandled). */
  onFailure?: (err: Error) => void;
  /** Tell the server a wrong DTLS fingerprint, so the DTLS handshake fails. */
  corruptDtlsFingerprint?: boolean;
}

/**
 * Steps of a join, roughly in order; `NodePeer.marks` holds when each completed
 * (Date.now()): joined, producer created, consume answered, the first consumer
 * set up (consumerReady sent), each transport's ICE + DTLS connected.
 */
export const JOIN_STEPS = ['joined', 'produced', 'consumeAsked', 'consumerReady', 'sendConnected', 'recvConnected'] as const;
export type JoinStep = (typeof JOIN_STEPS)[number];

export interface Reception {
  packets: number;
  bytes: number;
  lastAt: number;
}

export class NodePeer {
  readonly received = new Map<string, Reception>(); // by sending participant id
  #sender?: NodeJS.Timeout;
  #transports: types.Transport[] = [];

  /** When the first audio packet from anyone arrived (Date.now()), if one has. */
  firstPacketAt?: number;
  /** When each step of the join completed (Date.now()); see JOIN_STEPS. */
  readonly marks: Partial<Record<JoinStep, number>> = {};

  private constructor(
    readonly signaling: ProtocolClient,
    readonly participantId: string,
    readonly device: Device,
    readonly options: PeerOptions,
    /** When the WebSocket opened (Date.now()). */
    readonly wsOpenAt: number,
  ) {}

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
    const signaling = await ProtocolClient.connect(target.wsUrl);
    const wsOpenAt = Date.now();
    const joined = await signaling.call('join', { protocolVersion: PROTOCOL_VERSION, room, token });
    const device = await loadedDevice(joined.routerRtpCapabilities);
    const peer = new NodePeer(signaling, joined.participantId, device, options, wsOpenAt);
    peer.#mark('joined');
    peer.talking = options.talking ?? true;
    signaling.ws.on('message', (data) => peer.#onMessage(JSON.parse(data.toString())));

    if (opus) {
      const send = await peer.#transport('send');
      const track = new werift.MediaStreamTrack({ kind: 'audio' });
      const producer = await send.produce({ track: track as unknown as MediaStreamTrack, stopTracks: false });
      const levelExt = producer.rtpParameters.headerExtensions?.find((h) => h.uri === AUDIO_LEVEL_URI);
      if (!levelExt) throw new Error('the audio-level header extension was not negotiated');
      peer.#mark('produced');
      peer.#startSending(track, opus, levelExt.id);
    }
    await peer.#transport('recv');
    await signaling.call('consume', { rtpCapabilities: device.rtpCapabilities });
    peer.#mark('consumeAsked');
    return peer;
  }

  async #transport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const options = await this.signaling.call('createTransport', { direction });
    const params = options;
    const t = direction === 'send' ? this.device.createSendTransport(params) : this.device.createRecvTransport(params);
    t.on('connect', ({ dtlsParameters }, ok, fail) => {
      if (this.options.corruptDtlsFingerprint) {
        const [first] = dtlsParameters.fingerprints;
        dtlsParameters = { ...dtlsParameters, fingerprints: [{ ...first!, value: first!.value.replace(/^../, first!.value.startsWith('00') ? '11' : '00') }] };
      }
      this.signaling.call('connectTransport', { transportId: t.id, dtlsParameters }).then(() => ok(), fail);
    });
    t.on('produce', ({ rtpParameters }, ok, fail) => {
      this.signaling
        .call('produce', { transportId: t.id, kind: 'audio', rtpParameters })
        .then(({ producerId }) => ok({ id: producerId }), fail);
    });
    t.on('connectionstatechange', (state) => {
      if (state === 'connected') this.#mark(direction === 'send' ? 'sendConnected' : 'recvConnected');
    });
    this.#transports.push(t);
    return t;
  }

  /** Whether this peer talks (50 packets/s at TALK_DBOV) or is silent (Opus DTX: one packet per 400 ms, level -127). */
  talking = true;

  /** The first loud frame sent since `talking` last became true (RTP header values as sent, and when). */
  talkStart?: { sequenceNumber: number; timestamp: number; sentAt: number };

  /**
   * Sends one 20 ms frame per 20 ms of wall clock. A timer alone would not:
   * when the event loop is late, Node fires one tick for several missed ones,
   * and a talker under load sent too few packets for mediasoup's level observer
   * (10 per 250 ms interval) to count it as speaking. Late frames go out at once,
   * as a browser's clocked capture would send them (at most MAX_CATCH_UP).
   */
  #startSending(track: werift.MediaStreamTrack, opus: Buffer[], levelExtId: number): void {
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
      const header = new werift.RtpHeader({
        payloadType: 111,
        sequenceNumber: seq,
        timestamp: ts,
        marker: false,
        extensions: [{ id: levelExtId, payload: Buffer.from([level]) }],
      });
      // A DTX frame is a 1-byte Opus packet (TOC only); talking sends the tone.
      const payload = this.talking ? opus[i++ % opus.length]! : Buffer.from([opus[0]![0]! & 0xfc]);
      track.writeRtp(new werift.RtpPacket(header, payload));
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

  #consumeChain: Promise<void> = Promise.resolve();

  #closed = false;

  #onMessage(msg: { notification?: string; data?: any }): void {
    if (this.#closed) return;
    if (msg.notification === 'participantLeft' && msg.data.participantId === this.participantId) {
      this.#fail(new Error(`removed by the server: ${msg.data.reason}`), false);
    }
    if (msg.notification !== 'newConsumer') return;
    const { consumerId, producerId, participantId, rtpParameters } = msg.data;
    this.#consumeChain = this.#consumeChain.then(async () => {
      if (this.#closed) return;
      const recv = this.#transports.find((t) => t.direction === 'recv')!;
      const consumer = await recv.consume({ id: consumerId, producerId, kind: 'audio', rtpParameters });
      const stats = this.received.get(participantId) ?? { packets: 0, bytes: 0, lastAt: 0 };
      this.received.set(participantId, stats);
      (consumer.track as unknown as werift.MediaStreamTrack).onReceiveRtp.subscribe((rtp) => {
        const now = Date.now();
        stats.packets++;
        stats.bytes += rtp.payload.length;
        stats.lastAt = now;
        this.firstPacketAt ??= now;
        this.options.onRtp?.(participantId, rtp, now, this);
        for (const watch of this.#packetWatchers) watch(participantId);
      });
      this.#mark('consumerReady');
      await this.signaling.call('consumerReady', { consumerId });
    }).catch((err) => {
      if (!this.#closed) this.#fail(err, true);
    });
  }

  /** The first thing that went wrong after the join (the server removed us, a consume failed). */
  failure?: Error;

  #fail(err: Error, throwUnlessHandled: boolean): void {
    if (this.failure) return;
    this.failure = err;
    if (this.options.onFailure) this.options.onFailure(err);
    else if (throwUnlessHandled) throw err;
  }

  #mark(step: JoinStep): void {
    this.marks[step] ??= Date.now();
  }

  readonly #packetWatchers = new Set<(from: string) => void>();

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
    await this.#consumeChain.catch(() => {});
    for (const t of this.#transports) t.close();
    await this.signaling.close();
  }
}
