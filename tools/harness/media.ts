// Hand-made RTP parameters, as a browser would send them, for protocol-level tests.
import type { RequestData } from '../../protocol/messages.ts';

let nextSsrc = 1000;

export function opusRtpParameters() {
  return {
    codecs: [
      {
        mimeType: 'audio/opus',
        payloadType: 111,
        clockRate: 48000,
        channels: 2,
        parameters: { useinbandfec: 1, usedtx: 1 },
        rtcpFeedback: [],
      },
    ],
    headerExtensions: [],
    encodings: [{ ssrc: nextSsrc++ }],
    rtcp: { cname: `test-${nextSsrc}` },
  };
}

/** Fake DTLS parameters of a remote endpoint (enough for connect() to be accepted). */
export const remoteDtlsParameters: RequestData<'connectTransport'>['dtlsParameters'] = {
  role: 'client',
  fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }],
};
