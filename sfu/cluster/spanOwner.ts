// The owner's end of one satellite of a room (rooms across nodes, octo.ts):
// the owner's PipeTransport to that node, the node's stand-in listener in the
// room, and mirrors of that node's speakers.
//
// The stand-in is one listener for the whole node: the room's forwarding
// gives it consumers (on demand, paused unless forwarded) of the voices that
// are not that node's own, made on the PipeTransport; its link turns each
// newConsumer into a `produce` request to the satellite, and the consumer is
// resumed (when forwarded) once the satellite has the producer. So only the
// speakers forwarded to that node cross, once per node, however many listen
// there. The satellite's own speakers arrive as producers on the same
// transport; their mirrors are in the room's forwarding (the observers hear
// them, listeners here consume them). Holds the room open while attached.
// close(): mirrors, stand-in and transport go (idempotent).
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import type { NotificationData, NotificationName } from '../../protocol/messages.ts';
import { Participant, type PeerLink } from '../rooms/participant.ts';
import type { Room } from '../rooms/room.ts';
import type { NodeLink } from './nodeLink.ts';
import { type PipeAddress, type PipeListen, addressOf, openPipe, pipeProducer } from './pipeLink.ts';

/** A mirror hears nothing from the room (its person's own node tells them). */
export const silentLink: PeerLink = { notify() {} };

/** Someone on `node` whose producer arrives on `transport`: that producer here, in a mirror of them that closes it. */
export async function mirrorOn(
  transport: types.PipeTransport,
  node: string,
  who: { participantId: string; identity: string; displayName: string; producerId: string; rtpParameters: types.RtpParameters },
): Promise<Participant> {
  const producer = await pipeProducer(transport, who.producerId, who.rtpParameters);
  const mirror = new Participant(who.identity, who.displayName, 'speaker', silentLink, { id: who.participantId, remote: { kind: 'mirror', node } });
  mirror.attachProducer(producer);
  mirror.once('close', () => producer.close());
  return mirror;
}

export interface SpeakerOnSatellite {
  participantId: string;
  identity: string;
  displayName: string;
  producerId: string;
  rtpParameters: types.RtpParameters;
}

export class SatelliteAttachment {
  readonly #mirrors = new Map<string, Participant>();
  readonly #standIn: Participant;
  readonly #release: () => void;
  #closed = false;

  private constructor(
    readonly room: Room,
    readonly node: string,
    readonly transport: types.PipeTransport,
    readonly link: NodeLink,
    readonly log: Logger,
  ) {
    const peerLink: PeerLink = { notify: (name, data) => this.#notify(name, data) };
    this.#standIn = new Participant(`node:${node}`, node, 'listener', peerLink, { remote: { kind: 'node', node } });
    this.#standIn.usePipe(transport, room.router.rtpCapabilities);
    this.#release = room.hold();
  }

  /** Connects to the satellite's pipe and puts the stand-in in the room; our pipe's address for the satellite. */
  static async open(room: Room, node: string, remote: PipeAddress, listen: PipeListen, link: NodeLink, log: Logger) {
    const transport = await openPipe(room.router, listen);
    try {
      await transport.connect(remote);
      const attachment = new SatelliteAttachment(room, node, transport, link, log);
      await room.addRemote(attachment.#standIn);
      return { attachment, pipe: addressOf(transport) };
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closed || this.transport.closed;
  }

  /** What the room's forwarding tells the stand-in: its consumers, to be produced on the satellite. */
  #notify<N extends NotificationName>(name: N, data: NotificationData<N>): void {
    if (this.#closed) return;
    if (name === 'newConsumer') {
      const c = data as NotificationData<'newConsumer'>;
      const owner = this.room.participants.get(c.participantId);
      this.link
        .request(this.node, 'produce', {
          room: this.room.name,
          consumerId: c.consumerId,
          producerId: c.producerId,
          participantId: c.participantId,
          identity: owner?.identity ?? c.participantId,
          displayName: owner?.displayName ?? '',
          rtpParameters: c.rtpParameters,
        })
        .then(() => this.room.consumerReady(this.#standIn, c.consumerId))
        .catch((err: Error) => this.log.debug('a voice did not reach the satellite', { room: this.room.name, node: this.node, error: err.message }));
    } else if (name === 'consumerClosed') {
      const { consumerId } = data as NotificationData<'consumerClosed'>;
      this.link.tell(this.node, 'consumerClosed', { room: this.room.name, consumerId });
    }
  }

  /** A speaker on the satellite: their producer here, and their mirror in the room. */
  async addSpeaker(s: SpeakerOnSatellite): Promise<void> {
    this.#mirrors.get(s.participantId)?.close('left');
    const mirror = await mirrorOn(this.transport, this.node, s);
    mirror.once('close', () => {
      if (this.#mirrors.get(s.participantId) === mirror) this.#mirrors.delete(s.participantId);
    });
    this.#mirrors.set(s.participantId, mirror);
    if (this.#closed) return void mirror.close('left');
    await this.room.addRemote(mirror);
  }

  removeSpeaker(participantId: string): void {
    this.#mirrors.get(participantId)?.close('left');
  }

  /** The producers this node sends the satellite now, and whether each runs (for the admin API and tests). */
  piped(): { participantId: string; running: boolean }[] {
    return [...this.#standIn.consumers.values()].map((c) => ({ participantId: String(c.appData.participantId), running: !c.paused }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of [...this.#mirrors.values()]) m.close('left');
    this.#standIn.close('left'); // closes the transport, and every pipe consumer and producer on it
    this.#release();
  }
}
