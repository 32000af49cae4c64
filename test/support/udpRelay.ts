// A user-space UDP relay between browsers and a mediasoup worker, to damage one
// page's media path on demand (the kernel here has no netem): it forwards every
// datagram unless told to drop some (`lossRatio`) or all of them (`cut`).
// Pair it with routeMediaThrough(), which points a page's ICE at the relay.
import dgram from 'node:dgram';
import type { Page } from 'playwright-core';

export class UdpRelay {
  /** Drop this share of datagrams, both ways (1 = the path is cut). */
  lossRatio = 0;
  readonly #upstream = new Map<string, dgram.Socket>(); // by client address:port

  private constructor(
    readonly socket: dgram.Socket,
    readonly target: { host: string; port: number },
  ) {
    socket.on('message', (msg, from) => {
      const key = `${from.address}:${from.port}`;
      let up = this.#upstream.get(key);
      if (!up) {
        up = dgram.createSocket('udp4');
        up.on('message', (reply) => {
          if (!this.#drop()) socket.send(reply, from.port, from.address);
        });
        up.bind(0, '127.0.0.1');
        this.#upstream.set(key, up);
      }
      if (!this.#drop()) up.send(msg, target.port, target.host);
    });
  }

  static async start(target: { host: string; port: number }): Promise<UdpRelay> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new UdpRelay(socket, target);
  }

  get port(): number {
    return this.socket.address().port;
  }

  #drop(): boolean {
    return this.lossRatio > 0 && Math.random() < this.lossRatio;
  }

  close(): void {
    for (const s of this.#upstream.values()) s.close();
    this.socket.close();
  }
}

/**
 * Before the page loads: every remote SDP it is given has the server's UDP
 * candidates at `serverPort` rewritten to the relay's port, and its TCP
 * candidates removed, so all of its media go through the relay.
 */
export async function routeMediaThrough(page: Page, serverPort: number, relayPort: number): Promise<void> {
  await page.addInitScript(
    ([from, to]) => {
      const original = RTCPeerConnection.prototype.setRemoteDescription as (this: RTCPeerConnection, d: RTCSessionDescriptionInit) => Promise<void>;
      RTCPeerConnection.prototype.setRemoteDescription = function (this: RTCPeerConnection, desc?: RTCSessionDescriptionInit) {
        if (desc?.sdp) {
          const sdp = desc.sdp
            .split('\r\n')
            .filter((line) => !(line.startsWith('a=candidate:') && / tcp /i.test(line)))
            .map((line) => (line.startsWith('a=candidate:') ? line.replace(` ${from} typ `, ` ${to} typ `) : line))
            .join('\r\n');
          desc = { type: desc.type, sdp };
        }
        return original.call(this, desc as RTCSessionDescriptionInit);
      } as typeof RTCPeerConnection.prototype.setRemoteDescription;
    },
    [serverPort, relayPort] as const,
  );
}
