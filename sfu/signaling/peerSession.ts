// One client connection's view of the protocol: validates each incoming frame,
// runs requests strictly in arrival order, and answers every one of them, with
// data or with an error that has a stable code. Nothing a client sends can
// throw out of here.
import type { TokenService } from '../auth/tokens.ts';
import { ChorusError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  PROTOCOL_VERSION,
  type ErrorBody,
  type Method,
  type NotificationData,
  type NotificationName,
  type ParsedRequestData,
  type Response,
  type ResponseData,
  describeIssues,
  requestEnvelope,
  requests,
} from '../../protocol/messages.ts';
import type { Participant, PeerLink } from '../rooms/participant.ts';
import type { Room } from '../rooms/room.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import { SerialQueue } from '../util/serialQueue.ts';
import { turnCredentials } from '../media/turnCredentials.ts';

const turnOf = (turn: SessionOptions['turn'], user: string) =>
  turn ? turnCredentials(turn.urls, turn.secret, user, turn.ttlSeconds) : [];

export type Send = (message: Response | { notification: NotificationName; data: unknown }) => void;

type Handlers = { [M in Method]: (data: ParsedRequestData<M>) => Promise<ResponseData<M>> };

/** Where sessions report what happens on the wire (the metrics module). */
export interface SignalingMetrics {
  wsConnection(delta: 1 | -1): void;
  wsMessage(direction: 'in' | 'out'): void;
  wsError(code: string): void;
}

export interface SessionOptions {
  metrics?: SignalingMetrics;
  /** Larger frames are refused with MESSAGE_TOO_LARGE. */
  maxMessageBytes: number;
  /** Opus max average bitrate clients are told to send (bits/s). */
  audioMaxBitrate: number;
  /** TURN servers handed to clients, with time-limited credentials. */
  turn?: { urls: string[]; secret: string; ttlSeconds: number };
}

interface Joined {
  room: Room;
  participant: Participant;
}

export class PeerSession implements PeerLink {
  readonly #queue = new SerialQueue();
  #joined?: Joined;
  #closed = false;

  constructor(
    readonly registry: RoomRegistry,
    readonly tokens: TokenService,
    readonly send: Send,
    readonly options: SessionOptions,
    readonly log: Logger,
  ) {}

  notify<N extends NotificationName>(name: N, data: NotificationData<N>): void {
    if (!this.#closed) this.send({ notification: name, data });
  }

  /** Handles one text frame. Resolves when its response has been sent. */
  receive(text: string): Promise<void> {
    return this.#queue.push(async () => {
      let id: number | null = null;
      try {
        const limit = this.options.maxMessageBytes;
        if (Buffer.byteLength(text) > limit) {
          throw new ChorusError('MESSAGE_TOO_LARGE', `messages are limited to ${limit} bytes`);
        }
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new ChorusError('BAD_JSON', 'the message is not valid JSON');
        }
        if (typeof json === 'object' && json !== null && Number.isInteger((json as { id?: unknown }).id)) {
          id = (json as { id: number }).id;
        }
        const envelope = requestEnvelope.safeParse(json);
        if (!envelope.success) {
          throw new ChorusError('INVALID_MESSAGE', `not a request: ${describeIssues(envelope.error)}`);
        }
        const { method, data } = envelope.data;
        if (!Object.hasOwn(requests, method)) {
          throw new ChorusError('UNKNOWN_METHOD', `unknown method "${method}"`);
        }
        const result = await this.#dispatch(method as Method, data ?? {});
        this.#respond({ id, ok: true, data: result });
      } catch (err) {
        this.#respond({ id, ok: false, error: this.#toErrorBody(err) });
      }
    });
  }

  async #dispatch(method: Method, data: unknown): Promise<unknown> {
    const parsed = requests[method].request.safeParse(data);
    if (!parsed.success) {
      throw new ChorusError('INVALID_MESSAGE', `${method}: ${describeIssues(parsed.error)}`);
    }
    const handler = this.#handlers[method] as (d: unknown) => Promise<unknown>;
    return handler(parsed.data);
  }

  #respond(response: Response): void {
    if (!response.ok) this.options.metrics?.wsError(response.error.code);
    if (!this.#closed) this.send(response);
  }

  #toErrorBody(err: unknown): ErrorBody {
    if (err instanceof ChorusError) return { code: err.code, message: err.message };
    // mediasoup rejects bad parameters with TypeError / UnsupportedError / InvalidStateError.
    if (err instanceof Error && /TypeError|UnsupportedError|InvalidStateError/.test(err.name)) {
      return { code: 'MEDIA_ERROR', message: err.message };
    }
    this.log.error('request failed', { error: err as Error });
    return { code: 'INTERNAL', message: 'internal error' };
  }

  #need(): Joined {
    if (!this.#joined || this.#joined.participant.closed) {
      throw new ChorusError('NOT_JOINED', 'join a room first');
    }
    return this.#joined;
  }

  #moderator(): Joined {
    const joined = this.#need();
    if (joined.participant.role !== 'moderator') throw new ChorusError('FORBIDDEN', 'only moderators can do this');
    return joined;
  }

  readonly #handlers: Handlers = {
    join: async ({ protocolVersion, room: roomName, token }) => {
      const requestedAt = Date.now();
      if (protocolVersion !== PROTOCOL_VERSION) {
        throw new ChorusError(
          'UNSUPPORTED_PROTOCOL',
          `this server speaks protocol version ${PROTOCOL_VERSION}, the client ${protocolVersion}: reload the page`,
        );
      }
      if (this.#joined && !this.#joined.participant.closed) {
        throw new ChorusError('ALREADY_JOINED', `you are in room ${this.#joined.room.name} already`);
      }
      const grant = await this.tokens.verify(token, roomName);
      const { room, participant } = await this.registry.join(grant, this, requestedAt);
      if (this.#closed) {
        participant.close('disconnected');
        throw new ChorusError('NOT_JOINED', 'connection closed');
      }
      this.#joined = { room, participant };
      return {
        participantId: participant.id,
        room: room.name,
        displayName: participant.displayName,
        role: participant.role,
        routerRtpCapabilities: room.router.rtpCapabilities,
        participants: [...room.participants.values()].filter((p) => p !== participant).map((p) => p.info()),
        dominantSpeakerId: room.dominantSpeaker?.id ?? null,
        chat: [...room.chat.history],
        iceServers: turnOf(this.options.turn, participant.id),
        audio: { maxBitrate: this.options.audioMaxBitrate },
      };
    },

    createTransport: async ({ direction }) => {
      const { room, participant } = this.#need();
      const t = await room.createTransport(participant, direction);
      return { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters };
    },

    connectTransport: async ({ transportId, dtlsParameters }) => {
      const { participant } = this.#need();
      await participant.transportById(transportId).connect({ dtlsParameters });
      return {};
    },

    produce: async ({ transportId, rtpParameters, paused }) => {
      const { room, participant } = this.#need();
      const producer = await room.produce(participant, transportId, rtpParameters, paused);
      return { producerId: producer.id };
    },

    consume: async ({ rtpCapabilities }) => {
      const { room, participant } = this.#need();
      participant.transport('recv');
      participant.setRtpCapabilities(rtpCapabilities);
      void room.syncConsumers(participant);
      return {};
    },

    consumerReady: async ({ consumerId }) => {
      const { room, participant } = this.#need();
      await room.consumerReady(participant, consumerId);
      return {};
    },

    mute: async () => {
      const { room, participant } = this.#need();
      await room.setMuted(participant, true);
      return {};
    },

    unmute: async () => {
      const { room, participant } = this.#need();
      await room.setMuted(participant, false);
      return {};
    },

    chat: async ({ text }) => {
      const { room, participant } = this.#need();
      return { messageId: room.postChat(participant, text) };
    },

    forceMute: async ({ participantId, allowUnmute }) => {
      const { room } = this.#moderator();
      await room.forceMute(room.participant(participantId), allowUnmute);
      return {};
    },

    remove: async ({ participantId }) => {
      const { room, participant } = this.#moderator();
      const target = room.participant(participantId);
      if (target === participant) throw new ChorusError('INVALID_STATE', 'use leave to leave');
      room.remove(target);
      return {};
    },

    leave: async () => {
      this.#need().participant.close('left');
      this.#joined = undefined;
      return {};
    },
  };

  /** The socket closed: whatever this client had in a room goes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#joined?.participant.close('disconnected');
    this.#joined = undefined;
  }
}
