import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type NotificationData,
  type NotificationName,
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
        'lowerHand',
        'mute',
        'produce',
        'raiseHand',
        'remove',
        'restartIce',
        'resume',
        'speaking',
        'unmute',
      ],
    );
    for (const m of methods) expect(requests[m].response).toBeDefined();
  });

  // One valid example per notification. The mapped type makes tsc demand an entry
  // for every notification name; the test below checks each against its schema.
  const notificationExamples: { [N in NotificationName]: NotificationData<N> } = {
    participantJoined: { participant: { id: 'p1', displayName: 'Ada', role: 'speaker', muted: false } },
    participantLeft: { participantId: 'p1', reason: 'left' },
    newConsumer: { consumerId: 'c1', producerId: 'pr1', participantId: 'p1', kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }] } },
    consumerClosed: { consumerId: 'c1' },
    producerPaused: { participantId: 'p1' },
    producerResumed: { participantId: 'p1' },
    speakers: { levels: [{ participantId: 'p1', level: 0.5, speaking: true }] },
    dominantSpeaker: { participantId: 'p1' },
    chatMessage: { id: 'm1', participantId: 'p1', displayName: 'Ada', text: 'hi', at: new Date(0).toISOString() },
    roomClosed: { reason: 'workerDied' },
    roomMoved: { routerRtpCapabilities: { codecs: [{ kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2 }] } },
    forceMuted: { allowUnmute: false },
    raisedHands: { hands: [{ participantId: 'p1', at: new Date(0).toISOString() }] },
    connectionQuality: { levels: [{ participantId: 'p1', level: 'good' }] },
  };

  it('has a schema for every notification the server sends and the docs list, and each checks its data', () => {
    const names = Object.keys(notifications).sort();
    expect(Object.keys(notificationExamples).sort()).toEqual(names);

    // Every name the server passes to notify()/#broadcast() (or picks with a ternary) has a schema.
    const sent = new Set<string>();
    for (const file of readdirSync('sfu', { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.startsWith('protocol')) continue;
      const source = readFileSync(join('sfu', file), 'utf8');
      for (const call of source.matchAll(/(?:\.notify|#broadcast)\(([^,]+),/g))
        for (const literal of call[1]!.matchAll(/'([A-Za-z]+)'/g)) sent.add(literal[1]!);
    }
    expect(sent.size).toBeGreaterThanOrEqual(10);
    for (const name of sent) expect(names, `server sends ${name}`).toContain(name);

    // docs/protocol.md's notification table lists exactly these.
    const doc = readFileSync('docs/protocol.md', 'utf8');
    const table = doc.slice(doc.indexOf('## Notifications'), doc.indexOf('## Error codes'));
    const documented = [...table.matchAll(/^\| (.+?) \|/gm)].flatMap((row) =>
      [...row[1]!.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]!),
    );
    expect(documented.sort()).toEqual(names);

    for (const name of names as NotificationName[]) {
      const schema = notifications[name];
      const example = notificationExamples[name];
      expect(schema.safeParse(example).success, `${name} accepts its example`).toBe(true);
      expect(serverMessage.safeParse({ notification: name, data: example }).success).toBe(true);
      // Each schema requires its fields: empty data, and the example missing any one field, are refused.
      expect(schema.safeParse({}).success, `${name} refuses {}`).toBe(false);
      for (const key of Object.keys(example)) {
        const { [key]: _dropped, ...rest } = example as Record<string, unknown>;
        expect(schema.safeParse(rest).success, `${name} without ${key}`).toBe(false);
      }
    }
  });

  it('parses every kind of server message and rejects others', () => {
    expect(serverMessage.safeParse({ id: 1, ok: true, data: {} }).success).toBe(true);
    expect(serverMessage.safeParse({ id: null, ok: false, error: { code: 'BAD_JSON', message: 'x' } }).success).toBe(true);
    expect(serverMessage.safeParse({ id: 1, ok: false, error: { code: 'NOPE', message: 'x' } }).success).toBe(false);
    expect(serverMessage.safeParse({ notification: 'participantLeft', data: {} }).success).toBe(true);
    expect(serverMessage.safeParse({ notification: 'somethingElse', data: {} }).success).toBe(false);
  });
});
