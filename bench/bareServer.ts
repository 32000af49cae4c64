// The engine floor: mediasoup forwarding the same streams as Chorus with the
// least possible around it. One worker, one router per room, WebRtcTransports
// through a WebRtcServer, every producer consumed by everyone else (all-to-all,
// like Chorus with K = 0). No validation, no selective forwarding, no observers,
// no metrics module, no database. It speaks just enough of the Chorus protocol
// for chorus-load to drive it, and answers /metrics with the numbers the
// benchmarks read (worker and Node CPU, worker memory and Node heap, consumers).
//
//   PORT=3300 node --import tsx bench/bareServer.ts
import fs from 'node:fs';
import http from 'node:http';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { WebSocketServer } from 'ws';
import { mediaCodecs } from '../sfu/media/codecs.ts';

const port = Number(process.env.PORT ?? 3300);
const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const webRtcServer = await worker.createWebRtcServer({
  listenInfos: [
    { protocol: 'udp', ip: '127.0.0.1' },
    { protocol: 'tcp', ip: '127.0.0.1' },
  ],
});

interface Peer {
  id: string;
  send: (m: unknown) => void;
  transports: Map<string, types.WebRtcTransport>;
  recv?: types.WebRtcTransport;
  caps?: types.RtpCapabilities;
  producer?: types.Producer;
  consumers: Map<string, types.Consumer>;
}
const rooms = new Map<string, Promise<{ router: types.Router; peers: Set<Peer> }>>();
let nextId = 0;

async function consume(listener: Peer, producer: types.Producer, ownerId: string): Promise<void> {
  if (!listener.recv || !listener.caps) return;
  const c = await listener.recv.consume({ producerId: producer.id, rtpCapabilities: listener.caps, paused: true, ignoreDtx: true });
  listener.consumers.set(c.id, c);
  listener.send({
    notification: 'newConsumer',
    data: { consumerId: c.id, producerId: producer.id, participantId: ownerId, kind: 'audio', rtpParameters: c.rtpParameters },
  });
}

const server = http.createServer(async (req, res) => {
  if (req.url === '/dev/token') {
    res.end(JSON.stringify({ token: 'bare' }));
  } else if (req.url === '/metrics') {
    const u = await worker.getResourceUsage();
    const p = process.cpuUsage();
    // Resident memory as Chorus reports it (/proc statm pages).
    const rss = Number(fs.readFileSync(`/proc/${worker.pid}/statm`, 'utf8').split(' ')[1]) * 4096;
    let consumers = 0;
    for (const room of rooms.values()) for (const peer of (await room).peers) consumers += peer.consumers.size;
    res.end(
      `chorus_worker_cpu_seconds_total{worker="0"} ${(u.ru_utime + u.ru_stime) / 1000}\n` +
        `chorus_process_cpu_seconds_total ${(p.user + p.system) / 1e6}\n` +
        `chorus_worker_memory_bytes{worker="0"} ${rss}\n` +
        `chorus_nodejs_heap_size_used_bytes ${process.memoryUsage().heapUsed}\n` +
        `chorus_consumers{worker="0"} ${consumers}\n`,
    );
  } else if (req.url === '/healthz') {
    res.end('ok');
  } else {
    res.statusCode = 404;
    res.end();
  }
});

new WebSocketServer({ server, path: '/ws' }).on('connection', (ws) => {
  const peer: Peer = { id: `p${nextId++}`, send: (m) => ws.send(JSON.stringify(m)), transports: new Map(), consumers: new Map() };
  let room: { router: types.Router; peers: Set<Peer> } | undefined;
  ws.on('message', async (raw) => {
    const { id, method, data } = JSON.parse(raw.toString());
    const ok = (d: unknown = {}) => peer.send({ id, ok: true, data: d });
    switch (method) {
      case 'join': {
        if (!rooms.has(data.room)) rooms.set(data.room, worker.createRouter({ mediaCodecs }).then((router) => ({ router, peers: new Set() })));
        room = await rooms.get(data.room)!;
        room.peers.add(peer);
        // Every field the protocol's join response has (the client core checks it), with nothing behind them.
        return ok({
          participantId: peer.id,
          room: data.room,
          displayName: peer.id,
          role: 'speaker',
          routerRtpCapabilities: room.router.rtpCapabilities,
          participants: [],
          dominantSpeakerId: null,
          chat: [],
          iceServers: [],
          audio: { maxBitrate: 32_000 },
          resume: { token: 'bare', graceMs: 0 },
          raisedHands: [],
        });
      }
      case 'createTransport': {
        const t = await room!.router.createWebRtcTransport({ webRtcServer, enableUdp: true, enableTcp: true, preferUdp: true });
        peer.transports.set(t.id, t);
        if (data.direction === 'recv') peer.recv = t;
        return ok({ id: t.id, iceParameters: t.iceParameters, iceCandidates: t.iceCandidates, dtlsParameters: t.dtlsParameters });
      }
      case 'connectTransport':
        await peer.transports.get(data.transportId)!.connect({ dtlsParameters: data.dtlsParameters });
        return ok();
      case 'produce': {
        const producer = await peer.transports.get(data.transportId)!.produce({ kind: 'audio', rtpParameters: data.rtpParameters });
        peer.producer = producer;
        ok({ producerId: producer.id });
        for (const other of room!.peers) if (other !== peer) await consume(other, producer, peer.id);
        return;
      }
      case 'consume': {
        peer.caps = data.rtpCapabilities;
        ok();
        for (const other of room!.peers) if (other !== peer && other.producer) await consume(peer, other.producer, other.id);
        return;
      }
      case 'consumerReady':
        await peer.consumers.get(data.consumerId)?.resume();
        return ok();
      default:
        return ok();
    }
  });
  ws.on('close', () => {
    room?.peers.delete(peer);
    for (const t of peer.transports.values()) t.close();
  });
});

server.listen(port, '127.0.0.1', () => console.log(`bare mediasoup server on http://127.0.0.1:${port}`));
process.on('SIGTERM', () => {
  worker.close();
  process.exit(0);
});
