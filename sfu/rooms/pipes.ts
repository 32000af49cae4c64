// The pipes of a room that spans workers: a producer made on one of the room's
// routers, made available on another with mediasoup's pipeToRouter (a pipe
// consumer on the source router, a pipe producer with the same id on the
// target; mediasoup keeps one PipeTransport pair per pair of routers, closed
// with either router).
//
// One pipe per (producer, target router), shared by everyone who needs it
// there: each use takes a lease, and the pipe is closed when its last lease is
// released (a consumer of it closed, the producer's observer lease ended). The
// pipe also goes when its producer, or either router, closes (mediasoup closes
// the pipe producer with its pipe consumer and the other way round); its entry
// goes with it. Pausing the original pauses the pipe producer (mediasoup
// forwards the pipe consumer's producerpause), so a mute reaches every router.
import type { types } from 'mediasoup';

/** A producer as seen on one router; `release()` when it is no longer needed there (idempotent). */
export interface PipeLease {
  readonly producer: types.Producer;
  release(): void;
}

interface Pipe {
  /** The pipe producer on the target router, once made. */
  ready: Promise<types.Producer>;
  producer?: types.Producer;
  leases: number;
}

export class ProducerPipes {
  /** By target router id, then producer id. */
  readonly #pipes = new Map<string, Map<string, Pipe>>();

  /**
   * `producer` (made on `source`) on `target`: the producer itself when the
   * routers are the same, else its pipe there, made on first use.
   */
  async lease(producer: types.Producer, source: types.Router, target: types.Router): Promise<PipeLease> {
    if (source === target) return { producer, release() {} };
    let byProducer = this.#pipes.get(target.id);
    if (!byProducer) this.#pipes.set(target.id, (byProducer = new Map()));
    let pipe = byProducer.get(producer.id);
    if (!pipe) {
      const made: Pipe = { leases: 0, ready: this.#open(producer, source, target) };
      pipe = made;
      byProducer.set(producer.id, made);
      made.ready.then(
        (piped) => {
          made.producer = piped;
          piped.observer.once('close', () => this.#forget(target.id, producer.id, made));
          // Everyone who wanted it gave up while it was being made.
          if (made.leases === 0) piped.close();
        },
        () => this.#forget(target.id, producer.id, made),
      );
    }
    const leased = pipe;
    leased.leases++;
    let piped: types.Producer;
    try {
      piped = await leased.ready;
    } catch (err) {
      leased.leases--;
      throw err;
    }
    let released = false;
    return {
      producer: piped,
      release: () => {
        if (released) return;
        released = true;
        if (--leased.leases === 0) piped.close(); // its pipe consumer closes with it; the entry goes on 'close'
      },
    };
  }

  async #open(producer: types.Producer, source: types.Router, target: types.Router): Promise<types.Producer> {
    const { pipeProducer } = await source.pipeToRouter({ producerId: producer.id, router: target });
    if (!pipeProducer) throw new Error('pipeToRouter made no pipe producer');
    return pipeProducer;
  }

  #forget(targetId: string, producerId: string, pipe: Pipe): void {
    const byProducer = this.#pipes.get(targetId);
    if (byProducer?.get(producerId) !== pipe) return;
    byProducer.delete(producerId);
    if (byProducer.size === 0) this.#pipes.delete(targetId);
  }

  /** The pipe producer of `producerId` on the router `targetId`, if it is piped there and made. */
  pipeOf(targetId: string, producerId: string): types.Producer | undefined {
    return this.#pipes.get(targetId)?.get(producerId)?.producer;
  }

  /** Producer ids piped to the router `targetId` now (for tests and metrics). */
  pipedTo(targetId: string): string[] {
    return [...(this.#pipes.get(targetId)?.keys() ?? [])];
  }

  /** Pipes open now, all routers together. */
  get size(): number {
    let n = 0;
    for (const byProducer of this.#pipes.values()) n += byProducer.size;
    return n;
  }
}
