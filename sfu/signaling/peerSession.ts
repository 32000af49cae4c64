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
import type { Participant } from '../rooms/participant.ts';
import type { ModeratorAction } from '../rooms/peopleElsewhere.ts';
import type { Room } from '../rooms/room.ts';
import type { RoomRegistry } from '../rooms/roomRegistry.ts';
import type { RoomRouter } from '../cluster/roomRouter.ts';
import { SerialQueue } from '../util/serialQueue.ts';
import { turnCredentials } from '../media/turnCredentials.ts';
import { ClientLink, type Send } from './clientLink.ts';
import type { RefusalReason } from './frontDoor.ts';

const turnOf = (turn: SessionOptions['turn'], user: string) =>
  turn ? turnCredentials(turn.urls, turn.secret, user, turn.ttlSeconds) : [];

export type { Send };

type Handlers = { [M in Method]: (data: ParsedRequestData<M>) => Promise<ResponseData<M>> };

/** Where sessions report what happens on the wire (the metrics module). */
export interface SignalingMetrics {
  wsConnection(delta: 1 | -1): void;
  wsMessage(direction: 'in' | 'out'): void;
  wsError(code: string): void;
  /** The front door refused or closed a socket (sfu/signaling/frontDoor.ts). */
  wsRefused(reason: RefusalReason): void;
}

export interface SessionOptions {
  metrics?: SignalingMetrics;
  /** Larger frames are refused with MESSAGE_TOO_LARGE. */
  maxMessageBytes: number;
  /** Opus max average bitrate clients are told to send (bits/s). */
  audioMaxBitrate: number;
  /** Cap on a send transport's incoming bitrate (bits/s; mediasoup's setMaxIncomingBitrate). */
  maxIncomingBitrate?: number;
  /** TURN servers handed to clients, with time-limited credentials. */
  turn?: { urls: string[]; secret: string; ttlSeconds: number };
  /** How long a participant whose socket dropped is kept for a resume (ms). */
  resumeGraceMs: number;
  /** Cluster mode: which node serves a room (WRONG_NODE for another's). Without it every room is served here. */
  router?: RoomRouter;
}

/** A joined participant, with the link its sockets take turns to carry. */
interface Joined {
  room: Room;
  participant: Participant;
  link: ClientLink;
  /** The session whose socket carries the link now. */
  session?: PeerSession;
}

/** Joined participants by id, shared by every session, for resumes. */
export type ResumableSessions = Map<string, Joined>;

/** What a session tells its socket. */
export interface SessionHooks {
  /** Close this socket: another socket resumed its participant. */
  disconnect(): void;
  /** This socket no longer carries a participant (it left, or was removed): the join deadline runs again. */
  idle(): void;
}

export class PeerSession {
  readonly #queue = new SerialQueue();
  #joined?: Joined;
  /** The identity this socket last joined or resumed as (kept after leave: the rate limit is theirs). */
  #identity?: string;
  #closed = false;

  constructor(
    readonly registry: RoomRegistry,
    readonly tokens: TokenService,
    readonly send: Send,
    readonly options: SessionOptions,
    readonly log: Logger,
    readonly resumable: ResumableSessions,
    readonly hooks: SessionHooks = { disconnect() {}, idle() {} },
  ) {}

  /** Sends on this socket while it is open. */
  readonly #send: Send = (frame) => {
    if (!this.#closed) this.send(frame);
  };

  /** Whom this socket has joined or resumed as; undefined until then. */
  get identity(): string | undefined {
    return this.#identity;
  }

  /** Whether this socket carries a participant now (joined or resumed, not left). */
  get inCall(): boolean {
    return this.#joined !== undefined && !this.#joined.participant.closed;
  }

  /**
   * Handles one text frame. Resolves when its response has been sent.
   * `refused` (the front door's rate limit): answered with that error, in
   * order with the others, without being run.
   */
  receive(text: string, refused?: ChorusError): Promise<void> {
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
        if (refused) throw refused;
        const envelope = requestEnvelope.safeParse(json);
        if (!envelope.success) {
          throw new ChorusError('INVALID_MESSAGE', `not a request: ${describeIssues(envelope.error)}`);
        }
        const { method, data } = envelope.data;
        if (!Object.hasOwn(requests, method)) {
          throw new ChorusError('UNKNOWN_METHOD', `unknown method "${method}"`);
        }
        const run = async (): Promise<Response> => {
          try {
            return { id, ok: true, data: await this.#dispatch(method as Method, data ?? {}) };
          } catch (err) {
            // A request that failed because the room's worker died is answered
            // once the room has moved: the client hears roomMoved first.
            await this.#joined?.room.placed();
            return { id, ok: false, error: this.#toErrorBody(err) };
          }
        };
        // A joined client's request sent again after a resume is answered once.
        const joined = this.#joined;
        this.#respond(joined && id !== null ? await joined.link.once(id, method, this, run) : await run());
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
    this.#send(response);
  }

  #toErrorBody(err: unknown): ErrorBody {
    if (err instanceof ChorusError) return { code: err.code, message: err.message, ...(err.data === undefined ? {} : { data: err.data }) };
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

  #checkVersion(protocolVersion: number): void {
    if (protocolVersion !== PROTOCOL_VERSION) {
      throw new ChorusError(
        'UNSUPPORTED_PROTOCOL',
        `this server speaks protocol version ${PROTOCOL_VERSION}, the client ${protocolVersion}: reload the page`,
      );
    }
  }

  /**
   * A moderator's action on someone: here, or on the node they are on (a room
   * spanning nodes); FORBIDDEN for others, NOT_FOUND if nobody of that id is in the room.
   */
  async #moderate(participantId: string, action: ModeratorAction, here: (room: Room, target: Participant) => Promise<void> | void): Promise<void> {
    const { room } = this.#moderator();
    const target = room.participants.get(participantId);
    if (target) await here(room, target);
    else await room.elsewhere.act(participantId, action);
  }

  /** Another socket resumed our participant: this one no longer speaks for it. */
  #handOver(): void {
    this.#joined = undefined;
    this.#closed = true;
    this.hooks.disconnect();
  }

  readonly #handlers: Handlers = {
    join: async ({ protocolVersion, room: roomName, token }) => {
      const requestedAt = Date.now();
      this.#checkVersion(protocolVersion);
      if (this.#joined && !this.#joined.participant.closed) {
        throw new ChorusError('ALREADY_JOINED', `you are in room ${this.#joined.room.name} already`);
      }
      const grant = await this.tokens.verify(token, roomName);
      await this.options.router?.route(grant.room, grant.identity);
      const link = new ClientLink({ graceMs: this.options.resumeGraceMs }, () => participant.close('disconnected'));
      const { room, participant } = await this.registry.join(grant, link, requestedAt);
      if (this.#closed) {
        participant.close('disconnected');
        throw new ChorusError('NOT_JOINED', 'connection closed');
      }
      const joined: Joined = { room, participant, link, session: this };
      this.resumable.set(participant.id, joined);
      participant.once('close', () => {
        this.resumable.delete(participant.id);
        link.close();
        // The socket that carries it now (if any) stays open without a participant.
        const carrier = joined.session;
        if (carrier && !carrier.#closed) {
          carrier.#joined = undefined;
          carrier.hooks.idle();
        }
      });
      link.attach(this.#send);
      this.#joined = joined;
      this.#identity = participant.identity;
      return {
        participantId: participant.id,
        room: room.name,
        displayName: participant.displayName,
        role: participant.role,
        routerRtpCapabilities: room.router.rtpCapabilities,
        participants: [...[...room.participants.values()].filter((p) => p !== participant).map((p) => p.info()), ...room.elsewhere.list()],
        dominantSpeakerId: room.dominantSpeaker?.id ?? null,
        chat: [...room.chat.history],
        iceServers: turnOf(this.options.turn, participant.id),
        audio: { maxBitrate: this.options.audioMaxBitrate },
        resume: { token: link.resumeToken, graceMs: this.options.resumeGraceMs },
        raisedHands: room.raisedHands(),
        ...(this.options.router ? { cluster: { nodes: this.options.router.nodeUrls() } } : {}),
      };
    },

    resume: async ({ protocolVersion, participantId, resumeToken, token, lastSeq }) => {
      this.#checkVersion(protocolVersion);
      if (this.#joined && !this.#joined.participant.closed) {
        throw new ChorusError('ALREADY_JOINED', `you are in room ${this.#joined.room.name} already`);
      }
      const gone = () => new ChorusError('RESUME_FAILED', 'this session cannot be resumed any more: join again');
      const joined = this.resumable.get(participantId);
      if (!joined || joined.participant.closed || !joined.link.matches(resumeToken)) throw gone();
      // The join token again: an expired (or another person's) token does not come back.
      const grant = await this.tokens.verify(token, joined.room.name);
      if (grant.identity !== joined.participant.identity) throw gone();
      if (this.#closed || joined.participant.closed) throw gone();
      const previous = joined.session;
      if (!joined.link.resume(this.#send, lastSeq)) {
        throw new ChorusError('RESUME_FAILED', 'too much happened while you were away: join again');
      }
      joined.session = this;
      this.#joined = joined;
      this.#identity = joined.participant.identity;
      if (previous && previous !== this) previous.#handOver();
      this.log.info('participant resumed', { participant: participantId, room: joined.room.name });
      return {
        resume: { token: joined.link.resumeToken, graceMs: this.options.resumeGraceMs },
        iceServers: turnOf(this.options.turn, participantId),
      };
    },

    createTransport: async ({ direction }) => {
      const { room, participant } = this.#need();
      const t = await room.createTransport(participant, direction);
      // What a client may send is capped (bandwidth estimation tells its sender), whatever its SDP says.
      if (direction === 'send' && this.options.maxIncomingBitrate) await t.setMaxIncomingBitrate(this.options.maxIncomingBitrate);
      return { id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters };
    },

    connectTransport: async ({ transportId, dtlsParameters }) => {
      const { participant } = this.#need();
      await participant.transportById(transportId).connect({ dtlsParameters });
      return {};
    },

    restartIce: async ({ transportId }) => {
      const { participant } = this.#need();
      return { iceParameters: await participant.transportById(transportId).restartIce() };
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

    speaking: async () => {
      const { room, participant } = this.#need();
      return { taken: room.hintSpeaking(participant) };
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
      await this.#moderate(participantId, { kind: 'forceMute', allowUnmute }, (room, target) => room.forceMute(target, allowUnmute));
      return {};
    },

    remove: async ({ participantId }) => {
      await this.#moderate(participantId, { kind: 'remove' }, (room, target) => {
        if (target === this.#joined?.participant) throw new ChorusError('INVALID_STATE', 'use leave to leave');
        room.remove(target);
      });
      return {};
    },

    raiseHand: async () => {
      const { room, participant } = this.#need();
      room.raiseHand(participant);
      return {};
    },

    lowerHand: async ({ participantId }) => {
      const { room, participant } = this.#need();
      // Someone else's hand: moderators only.
      if (participantId === undefined || participantId === participant.id) room.lowerHand(participant, false);
      else await this.#moderate(participantId, { kind: 'lowerHand' }, (r, target) => r.lowerHand(target, true));
      return {};
    },

    leave: async () => {
      this.#need().participant.close('left'); // the socket is idle now: see join
      return {};
    },
  };

  /**
   * The socket closed. `resumable` (the connection broke): a joined participant
   * keeps its place (media running) for the resume grace period, then leaves.
   * Otherwise (the client closed it, or the server shuts down) it leaves at once.
   */
  close({ resumable }: { resumable: boolean }): void {
    if (this.#closed) return;
    this.#closed = true;
    const joined = this.#joined;
    this.#joined = undefined;
    if (!joined || joined.session !== this) return;
    joined.session = undefined;
    if (resumable) joined.link.detach(this.#send);
    else joined.participant.close('disconnected');
  }
}
