// mediasoup's parameter objects as they cross the signaling WebSocket, typed
// precisely once: the server hands them to mediasoup and the client to
// mediasoup-client without a cast.
//
// mediasoup and mediasoup-client declare the same shapes, with one difference:
// the client knows one more RTP header extension (mediasoup's own packet-id)
// than the server. So what the client sends (capabilities, RTP parameters of a
// producer) accepts the client's set and keeps only the extensions the server
// knows (the server could not negotiate the others anyway); what the server
// sends uses the server's set, which the client's types accept.
//
// Objects are `z.object` (unknown keys dropped): mediasoup gets only fields it
// declares. No Node imports: this module is bundled into the web client.
import { z } from 'zod';

const mediaKind = z.enum(['audio', 'video']);
const count = z.number().int().min(0).max(2 ** 32);
const shortString = z.string().max(256);
/** Codec and extension parameters (e.g. Opus `useinbandfec: 1`); mediasoup checks the values. */
const parameterMap = z
  .record(z.string().max(64), z.unknown())
  .refine((map) => Object.keys(map).length <= 32, 'too many parameters');

/** RTP header extensions mediasoup (the server) knows. */
export const serverHeaderExtensionUris = [
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:3gpp:video-orientation',
  'urn:ietf:params:rtp-hdrext:toffset',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
] as const;
/** What mediasoup-client may offer: the server's set and mediasoup's packet-id. */
export const clientHeaderExtensionUris = [...serverHeaderExtensionUris, 'urn:mediasoup:params:rtp-hdrext:packet-id'] as const;
type ServerUri = (typeof serverHeaderExtensionUris)[number];
const serverUri = z.enum(serverHeaderExtensionUris);
const clientUri = z.enum(clientHeaderExtensionUris);
const isServerUri = <T extends { uri: string }>(ext: T): ext is T & { uri: ServerUri } =>
  (serverHeaderExtensionUris as readonly string[]).includes(ext.uri);

const rtcpFeedback = z.object({ type: shortString, parameter: shortString.optional() });

const codecCapability = z.object({
  kind: mediaKind,
  mimeType: shortString,
  preferredPayloadType: z.number().int().min(0).max(127),
  clockRate: count,
  channels: z.number().int().min(1).max(8).optional(),
  parameters: parameterMap.optional(),
  rtcpFeedback: z.array(rtcpFeedback).max(32).optional(),
});

const headerExtensionCapability = <U extends z.ZodType<string>>(uri: U) =>
  z.object({
    kind: mediaKind,
    uri,
    preferredId: z.number().int().min(1).max(255),
    preferredEncrypt: z.boolean().optional(),
    direction: z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']).optional(),
  });

/** A router's capabilities, as the server sends them in `join`. */
export const routerRtpCapabilities = z.object({
  codecs: z.array(codecCapability).max(64).optional(),
  headerExtensions: z.array(headerExtensionCapability(serverUri)).max(64).optional(),
});

/** A device's capabilities, as the client sends them in `consume` (codecs required: without them nothing can be consumed). */
export const deviceRtpCapabilities = z
  .object({
    codecs: z.array(codecCapability).max(64).optional(),
    headerExtensions: z
      .array(headerExtensionCapability(clientUri))
      .max(64)
      .optional()
      .transform((exts) => exts?.filter(isServerUri)),
  })
  .refine((caps) => caps.codecs !== undefined, { path: ['codecs'], message: 'the device capabilities name no codecs' });

/** A codec as used by one stream: a capability with its actual payload type, no kind. */
const codecParameters = codecCapability
  .omit({ kind: true, preferredPayloadType: true })
  .extend({ payloadType: z.number().int().min(0).max(127) });

const headerExtensionParameters = <U extends z.ZodType<string>>(uri: U) =>
  z.object({ uri, id: z.number().int().min(1).max(255), encrypt: z.boolean().optional(), parameters: parameterMap.optional() });

const encoding = z.object({
  ssrc: count.optional(),
  rid: shortString.optional(),
  codecPayloadType: z.number().int().min(0).max(127).optional(),
  rtx: z.object({ ssrc: count }).optional(),
  dtx: z.boolean().optional(),
  scalabilityMode: shortString.optional(),
  maxBitrate: count.optional(),
});

const rtcpParameters = z.object({ cname: shortString.optional(), reducedSize: z.boolean().optional() });

const rtpParametersWith = <E extends z.ZodType>(headerExtensions: E) =>
  z.object({
    mid: shortString.optional(),
    codecs: z.array(codecParameters).min(1).max(16),
    headerExtensions,
    encodings: z.array(encoding).max(8).optional(),
    rtcp: rtcpParameters.optional(),
  });

/** A producer's RTP parameters, as the client sends them in `produce`. */
export const producerRtpParameters = rtpParametersWith(
  z
    .array(headerExtensionParameters(clientUri))
    .max(32)
    .optional()
    .transform((exts) => exts?.filter(isServerUri)),
);

/** A consumer's RTP parameters, as the server sends them in `newConsumer`. */
export const consumerRtpParameters = rtpParametersWith(z.array(headerExtensionParameters(serverUri)).max(32).optional());

export const iceParameters = z.object({
  usernameFragment: shortString,
  password: shortString,
  iceLite: z.boolean().optional(),
});

export const iceCandidate = z.object({
  foundation: shortString,
  priority: count,
  ip: shortString,
  address: shortString,
  protocol: z.enum(['udp', 'tcp']),
  port: z.number().int().min(0).max(65535),
  type: z.literal('host'),
  tcpType: z.literal('passive').optional(),
});

export const dtlsParameters = z.object({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.enum(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']), value: shortString }))
    .min(1)
    .max(8),
});
