import type { types } from 'mediasoup';

/** The one codec Chorus routes: Opus, 48 kHz, stereo-capable (browsers send mono voice). */
export const mediaCodecs: types.RouterRtpCodecCapability[] = [
  {
    kind: 'audio',
    mimeType: 'audio/opus',
    clockRate: 48000,
    channels: 2,
    parameters: { useinbandfec: 1, usedtx: 1 },
  },
];
