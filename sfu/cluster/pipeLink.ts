// The media path between two nodes of a room spanning nodes: one mediasoup
// PipeTransport on each node's primary router of the room, connected to each
// other (UDP, SRTP), as mediasoup's own Router.pipeToRouter does within one
// host. A producer crosses as a pipe consumer on the sending side and a
// producer with the same id and the consumer's rtpParameters on the other.
import type { types } from 'mediasoup';
import { z } from 'zod';

/** Where this node's pipe listens (cluster.pipeListenIp / pipeAnnouncedAddress, else the RTC ones). */
export interface PipeListen {
  ip: string;
  announcedAddress: string;
}

/** What the other side connects to. */
export const pipeAddress = z.strictObject({
  ip: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  srtpParameters: z.custom<types.SrtpParameters>((v) => typeof v === 'object' && v !== null),
});
export type PipeAddress = z.infer<typeof pipeAddress>;

/** mediasoup checks the parameters themselves; here only their shape. */
export const rtpParameters = z.custom<types.RtpParameters>((v) => typeof v === 'object' && v !== null && 'codecs' in v);

export async function openPipe(router: types.Router, listen: PipeListen): Promise<types.PipeTransport> {
  return router.createPipeTransport({
    listenInfo: { protocol: 'udp', ip: listen.ip, announcedAddress: listen.announcedAddress },
    enableSrtp: true,
  });
}

export function addressOf(transport: types.PipeTransport): PipeAddress {
  return { ip: transport.tuple.localAddress, port: transport.tuple.localPort, srtpParameters: transport.srtpParameters! };
}

/** The producer of one who is on the other node, here (with the id it has there). */
export function pipeProducer(transport: types.PipeTransport, producerId: string, parameters: types.RtpParameters): Promise<types.Producer> {
  return transport.produce({ id: producerId, kind: 'audio', rtpParameters: parameters });
}
