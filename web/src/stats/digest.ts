// The essentials of a transport's getStats() report, readable by a person (the
// stats panel) and enough for our own connection quality: bitrates, loss,
// jitter, RTT, codec, the selected candidate pair. Pure: a report and the
// previous counters in, figures and new counters out.
import { LOST_AFTER_MS, type LinkSample } from '../../../protocol/connectionQuality.ts';

/** One entry of an RTCStatsReport (its fields vary with `type`). */
export type StatsEntry = { id: string; type: string; timestamp: number } & Record<string, unknown>;

export interface TrackStats {
  /** The stats id (stable while the stream lives). */
  id: string;
  /** out: our microphone to the server; in: a remote participant's audio. */
  direction: 'out' | 'in';
  /** For `in`: the remote track's id (matches the consumer's track). */
  trackId?: string;
  codec?: string;
  bitrateKbps: number;
  packetsLost: number;
  /** Loss over the last interval (in: from our counters; out: the server's receiver report). */
  lossRatio?: number;
  jitterMs?: number;
  rttMs?: number;
}

export interface TransportStats {
  direction: 'send' | 'recv';
  state: string;
  sendKbps: number;
  receiveKbps: number;
  rttMs?: number;
  /** The selected candidate pair: candidate types (host, srflx, prflx, relay) and transport protocol. */
  pair?: { local: string; remote: string; protocol: string };
  /** Grows whenever anything arrives (bytes, ICE responses): our "receiving" signal. */
  activity: number;
  tracks: TrackStats[];
}

/** Counters of the previous report, by stats id. */
export type Counters = Map<string, { at: number; bytes: number; packets: number; lost: number }>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const ms = (seconds: unknown) => (num(seconds) === undefined ? undefined : Math.round(num(seconds)! * 1000));

export function digestTransport(
  direction: 'send' | 'recv',
  state: string,
  report: Iterable<StatsEntry>,
  before: Counters,
): { stats: TransportStats; counters: Counters } {
  const entries = [...report];
  const byId = new Map(entries.map((e) => [e.id, e]));
  const counters: Counters = new Map();
  /** kbit/s of `bytes` since the previous report (0 for a stream seen the first time). */
  const rate = (e: StatsEntry, bytes: number, packets: number, lost: number) => {
    counters.set(e.id, { at: e.timestamp, bytes, packets, lost });
    const prev = before.get(e.id);
    const seconds = prev ? (e.timestamp - prev.at) / 1000 : 0;
    return {
      kbps: prev && seconds > 0 ? Math.max(0, Math.round(((bytes - prev.bytes) * 8) / seconds / 100) / 10) : 0,
      packets: prev ? packets - prev.packets : 0,
      lost: prev ? lost - prev.lost : 0,
    };
  };

  const transport = entries.find((e) => e.type === 'transport');
  const pairEntry =
    byId.get(String(transport?.selectedCandidatePairId)) ??
    entries.find((e) => e.type === 'candidate-pair' && e.nominated === true && e.state === 'succeeded');
  const local = pairEntry && byId.get(String(pairEntry.localCandidateId));
  const remote = pairEntry && byId.get(String(pairEntry.remoteCandidateId));

  const tracks: TrackStats[] = [];
  for (const e of entries) {
    const codec = byId.get(String(e.codecId));
    const codecName = codec ? `${String(codec.mimeType).replace(/^audio\//, '')}/${String(codec.clockRate)}` : undefined;
    if (e.type === 'inbound-rtp' && e.kind === 'audio') {
      const lost = num(e.packetsLost) ?? 0;
      const r = rate(e, num(e.bytesReceived) ?? 0, num(e.packetsReceived) ?? 0, lost);
      tracks.push({
        id: e.id,
        direction: 'in',
        trackId: typeof e.trackIdentifier === 'string' ? e.trackIdentifier : undefined,
        codec: codecName,
        bitrateKbps: r.kbps,
        packetsLost: lost,
        lossRatio: r.packets + r.lost > 0 ? Math.max(0, r.lost) / (r.packets + r.lost) : undefined,
        jitterMs: ms(e.jitter),
      });
    } else if (e.type === 'outbound-rtp' && e.kind === 'audio') {
      const remoteIn = entries.find((x) => x.type === 'remote-inbound-rtp' && x.localId === e.id);
      const r = rate(e, num(e.bytesSent) ?? 0, num(e.packetsSent) ?? 0, 0);
      tracks.push({
        id: e.id,
        direction: 'out',
        codec: codecName,
        bitrateKbps: r.kbps,
        packetsLost: num(remoteIn?.packetsLost) ?? 0,
        lossRatio: num(remoteIn?.fractionLost),
        jitterMs: ms(remoteIn?.jitter),
        rttMs: ms(remoteIn?.roundTripTime),
      });
    }
  }

  const bytesIn = num(transport?.bytesReceived) ?? num(pairEntry?.bytesReceived) ?? 0;
  const bytesOut = num(transport?.bytesSent) ?? num(pairEntry?.bytesSent) ?? 0;
  const totals = transport ?? pairEntry;
  const inRate = totals ? rate({ ...totals, id: `${totals.id}#in` }, bytesIn, 0, 0).kbps : 0;
  const outRate = totals ? rate({ ...totals, id: `${totals.id}#out` }, bytesOut, 0, 0).kbps : 0;
  return {
    counters,
    stats: {
      direction,
      state,
      sendKbps: outRate,
      receiveKbps: inRate,
      rttMs: ms(pairEntry?.currentRoundTripTime),
      pair:
        local && remote
          ? { local: String(local.candidateType), remote: String(remote.candidateType), protocol: String(local.protocol).toUpperCase() }
          : undefined,
      activity: bytesIn + (num(pairEntry?.responsesReceived) ?? 0),
      tracks,
    },
  };
}

/**
 * What the browser alone can tell of our link, for connectionQuality():
 * receiving while every transport is connected and something arrived within
 * LOST_AFTER_MS (`heardAt`), and the worst RTT. Not loss: a remote stream's
 * gaps are mostly its sender's (the server forwards them as they came), and
 * the loss the server reports on our own stream is, for Opus with FEC, the
 * worst loss among everyone who receives it (mediasoup's RtpStreamRecv asks
 * the sender for more FEC that way). The page takes our loss from the
 * server's view of our streams instead (connectionQuality notifications).
 */
export function ownLinkSample(transports: TransportStats[], heardAt: number, now: number): LinkSample {
  const worst = (values: (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined);
    return known.length ? Math.max(...known) : undefined;
  };
  return {
    receiving: transports.every((t) => t.state === 'connected') && now - heardAt < LOST_AFTER_MS,
    rttMs: worst(transports.map((t) => t.rttMs)),
  };
}
