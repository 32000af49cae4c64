// WebRTC in Node for Chorus clients: werift (pure TypeScript) under upstream
// mediasoup-client's Chrome111 handler, tuned to behave like a browser tab and
// to join fast under load. Importing this module installs werift's classes as
// the global RTCPeerConnection and MediaStream (the handler uses the globals).
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import * as werift from 'werift';

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
      iceFilterCandidatePair: loopbackOnlyWithLoopback,
      headerExtensions: { audio: [werift.useSdesMid(), werift.useAudioLevelIndication()], video: [] },
    });
  }
}

/**
 * werift binds every host candidate's socket to the wildcard address, so its
 * machine-address candidate and its 127.0.0.1 candidate both reach a server on
 * loopback from 127.0.0.1: two pairs that both work, which werift nominated in
 * turn while the DTLS handshake ran (the server saw its selected tuple flip
 * between two ports and back). Under load that is what failed transports
 * during join ramps: the server's DTLS went from connected to closed at the
 * flip back (`transportFailed`; bench:rooms logs each failed transport's
 * ICE/DTLS history). A browser's candidate sockets are bound to their own
 * addresses, so it has no such twin pair. Pair loopback only with loopback.
 */
function loopbackOnlyWithLoopback(pair: { localCandidate: { host: string }; remoteCandidate: { host: string } }): boolean {
  const loopback = (host: string) => host.startsWith('127.') || host === '::1';
  return loopback(pair.localCandidate.host) === loopback(pair.remoteCandidate.host);
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

/**
 * Consumers come and go (a listener holds consumers only for the voices it may
 * hear soon), and three of werift's habits broke that where a browser does not:
 * - a new remote m-section made werift recycle an inactive transceiver (the
 *   disabled first m-section of a closed consumer) and hand it the new MID, so
 *   that m-section's MID vanished and the next answer failed ("Transceiver with
 *   mid=0 not found"): the call errored out and rejoined. A new m-section gets
 *   a transceiver of its own here, as in a browser;
 * - mediasoup-client recycles the m-section of a closed consumer for the next
 *   one; werift then holds two transceivers with that m-line index, the
 *   stopped one first, and gave the new MID to the stopped one, so the new
 *   consumer's packets went to a dead track. The newest is the one the
 *   m-section now describes;
 * - a closed m-section (port 0, no codecs: a closed consumer's, until
 *   mediasoup-client recycles it) made werift refuse the whole offer
 *   ("negotiate codecs failed"). With one closed consumer the next one
 *   recycled its m-section first; with two closed at once (two voices gone
 *   together) the next consumer's offer failed and the call rejoined. A
 *   browser leaves a closed m-section alone: so does werift here.
 */
const addTransceiver = werift.TransceiverManager.prototype.addTransceiver;
werift.TransceiverManager.prototype.addTransceiver = function (this: werift.TransceiverManager, ...args) {
  // werift reuses a transceiver that is inactive and not `usedForSender`: mark them so for this call.
  const inactive = this.getTransceivers().filter((t) => t.currentDirection === 'inactive' && !t.usedForSender);
  for (const t of inactive) t.usedForSender = true;
  try {
    return addTransceiver.apply(this, args);
  } finally {
    for (const t of inactive) t.usedForSender = false;
  }
};
const setRemoteRTP = werift.TransceiverManager.prototype.setRemoteRTP;
werift.TransceiverManager.prototype.setRemoteRTP = function (this: werift.TransceiverManager, transceiver, remoteMedia, ...rest) {
  if (remoteMedia.port === 0) return;
  return setRemoteRTP.call(this, transceiver, remoteMedia, ...rest);
};
werift.TransceiverManager.prototype.getTransceiverByMLineIndex = function (this: werift.TransceiverManager, index: number) {
  return this.getTransceivers().findLast((t) => t.mLineIndex === index);
};

// mediasoup-client's Chrome111 handler uses the global WebRTC classes.
Object.assign(globalThis, { RTCPeerConnection: PeerConnection, MediaStream: werift.MediaStream });

/**
 * One DTLS certificate for every peer connection of this process (as a browser
 * tab may reuse one): werift would otherwise make a key pair per transport,
 * CPU a load generator needs for the joins themselves. Made before the first join.
 */
let dtlsKeys: werift.DtlsKeys | undefined;
export async function ensureDtlsKeys(): Promise<void> {
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
export function sharedDevice(routerRtpCapabilities: types.RtpCapabilities): Promise<Device> {
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
