// Which Chorus node a call talks to. A node alone: always the call's URL. In a
// cluster a join may be answered WRONG_NODE (the room lives on another node):
// the call follows it, once per join; the join response lists the live nodes,
// and when the current node does not answer (it died) the call tries the next
// one, which sends it on to the room's new node. This module reads the
// signaling errors that decide it; the call only reports them.
import { wrongNodeData } from '../protocol/messages.ts';
import { SignalingError } from './signaling.ts';

/** Failed reconnects to our node before a resume tries another node of the cluster (≈ 1 s of them). */
const UNREACHABLE_BEFORE_ANOTHER_NODE = 3;

const unreachable = (err: unknown) => err instanceof SignalingError && err.code === 'UNREACHABLE';

export class NodeChoice {
  #current: string;
  #known: readonly string[] = [];

  constructor(readonly entry: string) {
    this.#current = entry;
  }

  /** The signaling URL to connect to now. */
  get current(): string {
    return this.#current;
  }

  /** WRONG_NODE: the room is at `url`. */
  follow(url: string): void {
    this.#current = url;
  }

  /** The live nodes, from a join response (none on a node alone). */
  learn(nodes: readonly string[] | undefined): void {
    if (nodes?.length) this.#known = nodes;
  }

  /** The current node did not answer: move on to the next one we know (the entry URL first). */
  unreachable(): void {
    const all = [...new Set([this.#current, this.entry, ...this.#known])];
    this.#current = all[1 % all.length]!;
  }

  /** A join's connection failed (`err`): a node that did not answer is passed over at once. */
  connectFailed(err: unknown): void {
    if (unreachable(err)) this.unreachable();
  }

  /**
   * Attempt `attempt` of a resume failed (`err`): once our node has not
   * answered for a while (it died?), ask another; it cannot resume us
   * (RESUME_FAILED), and we rejoin through it.
   */
  resumeFailed(err: unknown, attempt: number): void {
    if (unreachable(err) && attempt >= UNREACHABLE_BEFORE_ANOTHER_NODE) this.unreachable();
  }

  /** Where a join's WRONG_NODE error (`err`) sends us, if it is one with a valid URL. */
  static redirect(err: unknown): string | undefined {
    if (!(err instanceof SignalingError && err.code === 'WRONG_NODE')) return undefined;
    const data = wrongNodeData.safeParse(err.data);
    return data.success ? data.data.url : undefined;
  }
}
