// The Chorus signaling protocol, defined once.
//
// This module is imported by the server (sfu/) and the web client (web/), so it
// must not import anything from Node. Every message type is a zod schema; the
// TypeScript types are derived from the schemas, and the server validates every
// incoming message against them at run time.
//
// Wire format (JSON text frames over one WebSocket):
//   client → server request       { id, method, data }
//   server → client response      { id, ok: true, data } | { id, ok: false, error: { code, message } }
//   server → client notification  { notification, data }
// See docs/protocol.md for the sequence of a call.
import { z } from 'zod';
import {
  consumerRtpParameters,
  deviceRtpCapabilities,
  dtlsParameters,
  iceCandidate,
  iceParameters,
  producerRtpParameters,
  routerRtpCapabilities,
} from './mediaParameters.ts';
import { qualityLevels } from './connectionQuality.ts';

/** Bumped on any incompatible change; the client sends it in `join`. */
export const PROTOCOL_VERSION = 2;

/** Path of the WebSocket endpoint on the HTTP server. */
export const SIGNALING_PATH = '/ws';

const id = z.string().min(1).max(64);

export const roomName = z
  .string()
  .trim()
  .min(1, 'room name is empty')
  .max(64, 'room name is longer than 64 characters')
  .regex(/^[\p{L}\p{N}_.-]+$/u, 'room name may contain only letters, digits, "_", "." and "-"');

export const displayName = z
  .string()
  .trim()
  .min(1, 'display name is empty')
  .max(48, 'display name is longer than 48 characters');

/**
 * What a participant may do (from their join token): speakers talk; listeners
 * only listen; moderators talk and can force-mute or remove others.
 */
export const roles = ['speaker', 'listener', 'moderator'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

// --- requests: method → [request data, response data] ------------------------

export const participantInfo = z.object({
  id,
  displayName: z.string(),
  role: roleSchema,
  muted: z.boolean(),
});
export type ParticipantInfo = z.infer<typeof participantInfo>;

/** Longest chat message, in characters. */
export const CHAT_MAX_LENGTH = 1000;

export const chatMessage = z.object({
  id,
  participantId: id,
  displayName: z.string(),
  text: z.string(),
  /** ISO 8601 time the server accepted it. */
  at: z.string(),
});
export type ChatMessage = z.infer<typeof chatMessage>;

export const transportOptions = z.object({
  id,
  iceParameters,
  iceCandidates: z.array(iceCandidate).max(16),
  dtlsParameters,
});

/** A raised hand: whose, and since when (ISO 8601); lists of them are in raising order. */
export const raisedHand = z.object({ participantId: id, at: z.string() });
export type RaisedHand = z.infer<typeof raisedHand>;

const iceServers = z.array(z.object({ urls: z.array(z.string()), username: z.string(), credential: z.string() }));

/** What a client needs to resume its session on a new socket (see `resume`). */
const resumeGrant = z.object({
  /** A credential bound to this participant; a new one comes with every resume. */
  token: z.string(),
  /** How long the server keeps the participant after the socket dropped (ms). */
  graceMs: z.number().int().nonnegative(),
});

export const requests = {
  join: {
    request: z.strictObject({
      protocolVersion: z.number().int(),
      room: roomName,
      /** A join token (JWT) for this room: it names you, your display name and your role. */
      token: z.string().min(1).max(4096),
    }),
    response: z.object({
      participantId: id,
      room: z.string(),
      displayName: z.string(),
      role: roleSchema,
      routerRtpCapabilities,
      participants: z.array(participantInfo),
      dominantSpeakerId: id.nullable(),
      /** The room's latest chat messages, oldest first. */
      chat: z.array(chatMessage),
      /** TURN servers with time-limited credentials (empty when none is configured). */
      iceServers,
      /** How to encode the microphone: Opus max average bitrate (bits/s). */
      audio: z.object({ maxBitrate: z.number().int() }),
      resume: resumeGrant,
      /** Hands raised in the room now, first raised first. */
      raisedHands: z.array(raisedHand),
      /** Cluster mode: the signaling URLs of the live nodes, to rejoin through one of them if this node goes away. */
      cluster: z.object({ nodes: z.array(z.string()).max(256) }).optional(),
    }),
  },
  /**
   * After the WebSocket dropped: take the same participant (transports, media,
   * everything) back on a new socket. The join token is checked again; the
   * notifications after `lastSeq` are sent again (before this response). Requests
   * re-sent with their old ids are answered, not applied twice.
   */
  resume: {
    request: z.strictObject({
      protocolVersion: z.number().int(),
      participantId: id,
      resumeToken: z.string().min(1).max(128),
      token: z.string().min(1).max(4096),
      /** The `seq` of the last notification the client received (0: none). */
      lastSeq: z.number().int().nonnegative(),
    }),
    response: z.object({
      resume: resumeGrant,
      /** Fresh TURN credentials (the old ones may be close to expiring). */
      iceServers: iceServers,
    }),
  },
  createTransport: {
    request: z.strictObject({ direction: z.enum(['send', 'recv']) }),
    response: transportOptions,
  },
  connectTransport: {
    request: z.strictObject({ transportId: id, dtlsParameters }),
    response: z.object({}),
  },
  produce: {
    request: z.strictObject({
      transportId: id,
      kind: z.literal('audio'),
      rtpParameters: producerRtpParameters,
      paused: z.boolean().default(false),
    }),
    response: z.object({ producerId: id }),
  },
  /** "I can receive now": the server creates consumers (paused) for the others. */
  consume: {
    request: z.strictObject({ rtpCapabilities: deviceRtpCapabilities }),
    response: z.object({}),
  },
  /**
   * The media path of a transport broke (ICE disconnected or failed, a new
   * local network): new ICE credentials on the server's side; the client then
   * restarts ICE with them (mediasoup-client's transport.restartIce).
   */
  restartIce: {
    request: z.strictObject({ transportId: id }),
    response: z.object({ iceParameters }),
  },
  /** The client has set up a consumer's track: the server resumes it. */
  consumerReady: {
    request: z.strictObject({ consumerId: id }),
    response: z.object({}),
  },
  /**
   * The sender's own voice detection: "I start talking" (after silence). The
   * server counts it as speaking at once, until its level observer confirms or
   * refutes it (~0.5 s); a refuted hint makes the next ones count for nothing
   * for a few seconds. Answered `{taken}`: whether it counted.
   */
  speaking: { request: z.strictObject({}), response: z.object({ taken: z.boolean() }) },
  mute: { request: z.strictObject({}), response: z.object({}) },
  unmute: { request: z.strictObject({}), response: z.object({}) },
  leave: { request: z.strictObject({}), response: z.object({}) },
  /** Moderators: mute someone. With allowUnmute false they cannot unmute themselves until allowed. */
  forceMute: {
    request: z.strictObject({ participantId: id, allowUnmute: z.boolean().default(false) }),
    response: z.object({}),
  },
  /** Send a chat message to the room (everyone gets chatMessage, you included). */
  chat: {
    request: z.strictObject({
      text: z
        .string()
        .trim()
        .min(1, 'the message is empty')
        .max(CHAT_MAX_LENGTH, `messages are limited to ${CHAT_MAX_LENGTH} characters`),
    }),
    response: z.object({ messageId: id }),
  },
  /** Moderators: remove someone from the room (they cannot rejoin it while it lasts). */
  remove: { request: z.strictObject({ participantId: id }), response: z.object({}) },
  /** Raise your hand (everyone gets raisedHands). Already raised: INVALID_STATE; too often: RATE_LIMITED. */
  raiseHand: { request: z.strictObject({}), response: z.object({}) },
  /** Lower your hand, or (moderators) someone else's with participantId. Not raised: INVALID_STATE. */
  lowerHand: { request: z.strictObject({ participantId: id.optional() }), response: z.object({}) },
} as const;

export type Method = keyof typeof requests;
export const methods = Object.keys(requests) as Method[];
export type RequestData<M extends Method> = z.input<(typeof requests)[M]['request']>;
export type ParsedRequestData<M extends Method> = z.output<(typeof requests)[M]['request']>;
export type ResponseData<M extends Method> = z.infer<(typeof requests)[M]['response']>;

/** The envelope every client message must have; `data` is checked per method. */
export const requestEnvelope = z.strictObject({
  id: z.number().int().nonnegative(),
  method: z.string().max(64),
  data: z.unknown().optional(),
});

// --- notifications: server → client -------------------------------------------

export const leaveReasons = [
  'left', // the participant asked to leave
  'disconnected', // the WebSocket closed
  'transportFailed', // ICE/DTLS failed
  'workerDied', // the mediasoup worker of the room died
  'serverShutdown',
  'replaced', // the same identity joined again (another tab or device)
  'removed', // a moderator or an admin removed the participant
  'roomClosed', // an admin closed the room
] as const;
export type LeaveReason = (typeof leaveReasons)[number];

export const notifications = {
  participantJoined: z.object({ participant: participantInfo }),
  participantLeft: z.object({ participantId: id, reason: z.enum(leaveReasons) }),
  newConsumer: z.object({
    consumerId: id,
    producerId: id,
    participantId: id,
    kind: z.literal('audio'),
    rtpParameters: consumerRtpParameters,
  }),
  consumerClosed: z.object({ consumerId: id }),
  producerPaused: z.object({ participantId: id }),
  producerResumed: z.object({ participantId: id }),
  /** Who is speaking now, and how loud (0..1); sent when it changes, at most 5 times a second. */
  speakers: z.object({
    levels: z.array(z.object({ participantId: id, level: z.number().min(0).max(1), speaking: z.boolean() })),
  }),
  dominantSpeaker: z.object({ participantId: id }),
  chatMessage,
  /** The room is gone (its worker died, the server shuts down, an admin closed it). */
  roomClosed: z.object({ reason: z.enum(leaveReasons) }),
  /**
   * The room's worker died and the room now runs on another one: you are still
   * in it (same participant), but your transports, producer and consumers are
   * gone. Load a Device with these capabilities and set the media up again
   * (createTransport, produce, createTransport recv, consume), as after join.
   */
  roomMoved: z.object({ routerRtpCapabilities }),
  /** A moderator muted you; unmute is refused unless allowUnmute. */
  forceMuted: z.object({ allowUnmute: z.boolean() }),
  /** The hands raised now, first raised first; sent to everyone whenever one is raised or lowered. */
  raisedHands: z.object({ hands: z.array(raisedHand) }),
  /**
   * Everyone's connection quality as the server sees their streams (RTT, loss,
   * jitter, whether anything arrives): sent when a level changes, at most once
   * per stats sampling interval (`metrics.statsIntervalMs`).
   */
  connectionQuality: z.object({
    levels: z.array(z.object({ participantId: id, level: z.enum(qualityLevels) })),
  }),
} as const;

export type NotificationName = keyof typeof notifications;
export type NotificationData<N extends NotificationName> = z.infer<(typeof notifications)[N]>;
export type Notification = {
  [N in NotificationName]: { notification: N; data: NotificationData<N> };
}[NotificationName];

// --- errors -------------------------------------------------------------------

/** Stable error codes: clients may switch on them; never reuse one for another meaning. */
export const errorCodes = [
  'BAD_JSON', // the frame is not JSON
  'MESSAGE_TOO_LARGE', // the frame exceeds the size limit
  'INVALID_MESSAGE', // not a request envelope, or its data does not match the method's schema
  'UNKNOWN_METHOD',
  'UNSUPPORTED_PROTOCOL', // join with another protocol version
  'NOT_JOINED', // a request that needs a joined participant, before join (or after leave)
  'ALREADY_JOINED',
  'INVALID_STATE', // out of order: e.g. produce before the send transport exists
  'NOT_FOUND', // an id that is not this participant's (or not in the room)
  'TOKEN_INVALID', // the join token is malformed, forged, or lacks room/name/role
  'TOKEN_EXPIRED',
  'TOKEN_WRONG_ROOM', // the join token is for another room
  'FORBIDDEN', // your role does not allow this (or a moderator muted/removed you)
  'MEDIA_ERROR', // mediasoup refused the parameters
  'RATE_LIMITED', // too many requests on this socket/identity, or chat messages; the message says when to retry
  'ROOM_FULL',
  'ROOM_CLOSED',
  'RESUME_FAILED', // the session cannot be resumed (gone, wrong credential, too much missed): join again
  'SERVER_BUSY', // no media worker available (or, in a cluster, no node can take a new room)
  'INTERNAL',
  'WRONG_NODE', // cluster: the room lives on (or was placed on) another node; data (wrongNodeData) says where: join there
  'CLUSTER_UNAVAILABLE', // cluster: this node cannot reach Redis, so it cannot open a new room; rooms open here go on
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** WebSocket close codes the server closes a socket with (besides 1001 on shutdown, 1009 for a huge frame). */
export const closeCodes = {
  /** Another socket resumed this participant. */
  resumedElsewhere: 4000,
  /** Neither join nor resume within signaling.joinTimeoutMs of opening. */
  joinTimeout: 4408,
  /** Went on sending requests far past the rate limit. */
  rateLimit: 4429,
  /** Did not read its socket: more than signaling.maxBufferedBytes waited to be sent. */
  slowConsumer: 4413,
} as const;

/** The data of a WRONG_NODE error: the room's node, and its signaling URL (ws(s)://…/ws) to join at. */
export const wrongNodeData = z.object({ nodeId: z.string().min(1).max(64), url: z.url({ protocol: /^wss?$/ }) });
export type WrongNodeData = z.infer<typeof wrongNodeData>;

/** `data` comes with some codes only (WRONG_NODE: wrongNodeData). */
export const errorBody = z.object({ code: z.enum(errorCodes), message: z.string(), data: z.unknown().optional() });
export type ErrorBody = z.infer<typeof errorBody>;

export type Response =
  | { id: number | null; ok: true; data: unknown }
  | { id: number | null; ok: false; error: ErrorBody };

/** Any server → client frame, as the client parses it. */
export const serverMessage = z.union([
  z.object({ id: z.number().nullable(), ok: z.literal(true), data: z.unknown() }),
  z.object({ id: z.number().nullable(), ok: z.literal(false), error: errorBody }),
  // `seq` numbers a participant's notifications (from 1), so that a resume resends exactly the missed ones.
  z.object({
    notification: z.enum(Object.keys(notifications) as [NotificationName]),
    data: z.unknown(),
    seq: z.number().int().nonnegative().optional(),
  }),
]);

/** Formats zod issues as one line per problem: "path: message". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
