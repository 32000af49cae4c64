import type { RemoteParticipant } from '../roomClient.ts';
import type { TrackStats, TransportStats } from '../stats/digest.ts';

const fmt = (v: number | undefined, unit: string) => (v === undefined ? '–' : `${v} ${unit}`);

/** The essentials of chrome://webrtc-internals: per transport and per stream, refreshed every second. */
export function StatsPanel({ transports, participants }: { transports: TransportStats[]; participants: RemoteParticipant[] }) {
  const nameOf = (t: TrackStats) =>
    t.direction === 'out'
      ? 'Your microphone'
      : (participants.find((p) => p.stream?.getAudioTracks()[0]?.id === t.trackId)?.displayName ?? 'Remote audio');
  return (
    <section className="stats" id="stats-panel" tabIndex={0} aria-label="Connection statistics" data-testid="stats-panel">
      <table>
        <caption>Transports</caption>
        <thead>
          <tr>
            <th scope="col">Transport</th>
            <th scope="col">State</th>
            <th scope="col">Sent</th>
            <th scope="col">Received</th>
            <th scope="col">RTT</th>
            <th scope="col">Candidate pair</th>
          </tr>
        </thead>
        <tbody>
          {transports.map((t) => (
            <tr key={t.direction} data-testid={`stats-transport-${t.direction}`}>
              <th scope="row">{t.direction === 'send' ? 'Send' : 'Receive'}</th>
              <td>{t.state}</td>
              <td>{fmt(t.sendKbps, 'kbit/s')}</td>
              <td>{fmt(t.receiveKbps, 'kbit/s')}</td>
              <td>{fmt(t.rttMs, 'ms')}</td>
              <td>{t.pair ? `${t.pair.local} → ${t.pair.remote}, ${t.pair.protocol}` : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>Streams</caption>
        <thead>
          <tr>
            <th scope="col">Stream</th>
            <th scope="col">Codec</th>
            <th scope="col">Bitrate</th>
            <th scope="col">Packets lost</th>
            <th scope="col">Jitter</th>
            <th scope="col">RTT</th>
          </tr>
        </thead>
        <tbody>
          {transports.flatMap((tr) =>
            tr.tracks.map((t) => (
              <tr key={t.id} data-testid={`stats-track-${t.direction}`} data-bitrate={t.bitrateKbps}>
                <th scope="row">{nameOf(t)}</th>
                <td>{t.codec ?? '–'}</td>
                <td data-testid="stats-bitrate">{fmt(t.bitrateKbps, 'kbit/s')}</td>
                <td>{t.packetsLost}</td>
                <td>{fmt(t.jitterMs, 'ms')}</td>
                <td>{fmt(t.rttMs, 'ms')}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
    </section>
  );
}
