// A load generator process: joins its share of simulated participants (real
// protocol, real WebRTC via mediasoup-client over werift), sends Opus (talkers)
// or DTX silence (listeners), and reports to the load tool over IPC.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { NodePeer } from '../../client/node/nodePeer.ts';
import { opusTonePackets } from '../../client/node/opusTone.ts';
import type { GeneratorMessage, StartMessage, Totals } from './protocol.ts';
import { RtpStreamStats } from './rtpStats.ts';
import { remoteTarget } from './target.ts';

const send = (m: GeneratorMessage) => process.send!(m);
const peers: NodePeer[] = [];
const streams: RtpStreamStats[] = [];
let joined = 0;
let failed = 0;
let rejoins = 0;
let ticker: NodeJS.Timeout | undefined;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });

function totals(): Totals {
  const cpu = process.cpuUsage();
  const withJitter = streams.filter((s) => s.received > 1);
  return {
    joined,
    failed,
    racedConsumers: peers.reduce((n, p) => n + p.call.closedBeforeReady, 0),
    rejoins,
    received: streams.reduce((n, s) => n + s.received, 0),
    expected: streams.reduce((n, s) => n + s.expected, 0),
    lost: streams.reduce((n, s) => n + s.lost, 0),
    jitterMs: withJitter.length ? withJitter.reduce((n, s) => n + s.jitterMs, 0) / withJitter.length : 0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
  };
}

async function start({ urls, authSecret, startAt, plan }: StartMessage): Promise<void> {
  const targets = urls.map((url) => remoteTarget(url, authSecret));
  const opus = opusTonePackets(440);
  loopDelay.enable();
  ticker = setInterval(() => send({ type: 'tick', totals: totals() }), 1000);
  await Promise.all(
    plan.map(async (item) => {
      await new Promise((r) => setTimeout(r, Math.max(0, startAt + item.joinAtMs - Date.now())));
      // One stats object per (receiver, sender) stream.
      const byFrom = new Map<string, RtpStreamStats>();
      let reported = false;
      try {
        const target = targets[item.urlIndex ?? 0]!;
        const peer: NodePeer = await NodePeer.join(target, item.room, item.name, opus, {
          talking: item.talker,
          onFailure: (err) => {
            failed++;
            send({ type: 'failed', error: `after joining: ${err.message}` });
          },
          onRtp: (from, rtp, at, peer) => {
            let s = byFrom.get(from);
            if (!s) {
              byFrom.set(from, (s = new RtpStreamStats()));
              streams.push(s);
            }
            s.add(rtp.header.sequenceNumber, rtp.header.timestamp, at);
            if (!reported) {
              reported = true;
              if (!item.measureJoin) send({ type: 'firstAudio' });
              else {
                // From the first WebSocket open: a join redirected by WRONG_NODE counts its detour (without one, the same as wsOpenAt).
                const openedAt = peer.firstWsOpenAt;
                const steps = Object.fromEntries(Object.entries(peer.marks).map(([k, t]) => [k, t - openedAt]));
                // The call's node at its first audio: the one it was sent to, or the one WRONG_NODE named.
                const redirected = peer.call.nodeUrl !== target.wsUrl;
                send({ type: 'firstAudio', latencyMs: at - openedAt, steps, redirected });
              }
            }
          },
        });
        peers.push(peer);
        peer.call.on('rejoined', () => rejoins++);
        joined++;
        send({ type: 'joined' });
      } catch (err) {
        failed++;
        send({ type: 'failed', error: (err as Error).message });
      }
    }),
  );
}

process.on('message', (m: StartMessage | { type: 'stop' }) => {
  if (m.type === 'start') void start(m);
  else {
    clearInterval(ticker);
    void Promise.allSettled(peers.map((p) => p.close())).then(() => {
      send({ type: 'done', totals: totals() });
      process.exit(0);
    });
  }
});
send({ type: 'ready' });
