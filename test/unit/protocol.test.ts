import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  describeIssues,
  methods,
  notifications,
  requestEnvelope,
  requests,
  serverMessage,
} from '../../protocol/messages.ts';

describe('protocol schemas', () => {
  it('accepts a well-formed join and trims the room name', () => {
    const r = requests.join.request.parse({ protocolVersion: PROTOCOL_VERSION, room: ' team-1 ', token: 'jwt' });
    expect(r).toEqual({ protocolVersion: PROTOCOL_VERSION, room: 'team-1', token: 'jwt' });
  });

  it.each([
    [{ room: 'a', token: 't' }, /protocolVersion/],
    [{ protocolVersion: 2, room: '', token: 't' }, /room: room name is empty/],
    [{ protocolVersion: 2, room: 'a/b', token: 't' }, /room: room name may contain only/],
    [{ protocolVersion: 2, room: 'x'.repeat(65), token: 't' }, /longer than 64/],
    [{ protocolVersion: 2, room: 'a' }, /token/],
    [{ protocolVersion: 2, room: 'a', token: 't', displayName: 'I claim a name' }, /displayName/],
    [{ protocolVersion: 2, room: 'a', token: 't', role: 'moderator' }, /role/],
  ])('rejects join %j', (data, message) => {
    const r = requests.join.request.safeParse(data);
    expect(r.success).toBe(false);
    expect(describeIssues(r.error!)).toMatch(message);
  });

  const opus = { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } };

  it('accepts only audio producers, paused defaulting to false', () => {
    const ok = requests.produce.request.parse({ transportId: 't', kind: 'audio', rtpParameters: { codecs: [opus] } });
    expect(ok.paused).toBe(false);
    expect(requests.produce.request.safeParse({ transportId: 't', kind: 'video', rtpParameters: {} }).success).toBe(false);
  });

  it('types mediasoup parameters precisely: wrong types and unknown algorithms are refused', () => {
    const produce = (rtpParameters: unknown) =>
      requests.produce.request.safeParse({ transportId: 't', kind: 'audio', rtpParameters }).success;
    expect(produce({ codecs: [opus], encodings: [{ ssrc: 1234 }] })).toBe(true);
    expect(produce({ codecs: [] })).toBe(false);
    expect(produce({ codecs: [{ ...opus, payloadType: '111' }] })).toBe(false);
    expect(produce({ codecs: [opus], encodings: [{ ssrc: -1 }] })).toBe(false);
    const connect = (dtlsParameters: unknown) => requests.connectTransport.request.safeParse({ transportId: 't', dtlsParameters }).success;
    expect(connect({ role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] })).toBe(true);
    expect(connect({ role: 'client', fingerprints: [{ algorithm: 'md5', value: 'AB:CD' }] })).toBe(false);
    expect(connect({ role: 'boss', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] })).toBe(false);
    expect(connect({ fingerprints: [] })).toBe(false);
  });

  it("keeps only the header extensions the server knows from a client's parameters", () => {
    const packetId = { uri: 'urn:mediasoup:params:rtp-hdrext:packet-id', id: 9 };
    const level = { uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1 };
    const parsed = requests.produce.request.parse({
      transportId: 't',
      kind: 'audio',
      rtpParameters: { codecs: [opus], headerExtensions: [packetId, level] },
    });
    expect(parsed.rtpParameters.headerExtensions).toEqual([level]);
    // An extension nobody knows is an error, not silently dropped.
    expect(
      requests.produce.request.safeParse({
        transportId: 't',
        kind: 'audio',
        rtpParameters: { codecs: [opus], headerExtensions: [{ uri: 'urn:x', id: 2 }] },
      }).success,
    ).toBe(false);
  });

  it('requires codecs in the receive capabilities', () => {
    expect(requests.consume.request.safeParse({ rtpCapabilities: {} }).success).toBe(false);
    expect(
      requests.consume.request.safeParse({
        rtpCapabilities: { codecs: [{ kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 111, clockRate: 48000 }] },
      }).success,
    ).toBe(true);
  });

  it('requires an integer id and a method in every request envelope', () => {
    expect(requestEnvelope.safeParse({ id: 1, method: 'join', data: {} }).success).toBe(true);
    expect(requestEnvelope.safeParse({ method: 'join' }).success).toBe(false);
    expect(requestEnvelope.safeParse({ id: 1.5, method: 'join' }).success).toBe(false);
    expect(requestEnvelope.safeParse({ id: 1, method: 'join', extra: 1 }).success).toBe(false);
  });

  it('has a request and a response schema for every method, and a schema for every notification', () => {
    expect(methods.sort()).toEqual(
      [
        'chat',
        'connectTransport',
        'consume',
        'consumerReady',
        'createTransport',
        'forceMute',
        'join',
        'leave',
        'mute',
        'produce',
        'remove',
        'unmute',
      ],
    );
    for (const m of methods) expect(requests[m].response).toBeDefined();
    expect(Object.keys(notifications)).toContain('newConsumer');
  });

  it('parses every kind of server message and rejects others', () => {
    expect(serverMessage.safeParse({ id: 1, ok: true, data: {} }).success).toBe(true);
    expect(serverMessage.safeParse({ id: null, ok: false, error: { code: 'BAD_JSON', message: 'x' } }).success).toBe(true);
    expect(serverMessage.safeParse({ id: 1, ok: false, error: { code: 'NOPE', message: 'x' } }).success).toBe(false);
    expect(serverMessage.safeParse({ notification: 'participantLeft', data: {} }).success).toBe(true);
    expect(serverMessage.safeParse({ notification: 'somethingElse', data: {} }).success).toBe(false);
  });
});
