// The client core's signaling connection, opened from Node for protocol-level
// tests: on top of typed calls, raw frames (malformed input on purpose) whose
// replies match no request of ours, and the `ws` socket itself.
import type WebSocket from 'ws';
import { openSocket, type Reply, SignalingClient } from '../../client/signaling.ts';
import { nodeSocket } from '../../client/node/nodePeer.ts';

export type { Reply };

export class ProtocolClient extends SignalingClient {
  static override async connect(url: string): Promise<ProtocolClient> {
    return new ProtocolClient(await openSocket(url, nodeSocket));
  }

  /** The underlying `ws` socket (close codes, oversized frames). */
  get ws(): WebSocket {
    return this.socket as unknown as WebSocket;
  }

  /** Sends a frame as it is (a Buffer goes as a binary frame) and resolves with the server's reply to it. */
  sendRaw(frame: string | Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a reply to a raw frame')), 10_000);
      const off = this.on('strayReply', (reply) => {
        clearTimeout(timer);
        off();
        resolve(reply);
      });
      this.sendFrame(frame);
    });
  }
}
