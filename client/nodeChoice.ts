// Which Chorus node a call talks to. A node alone: always the call's URL. In a
// cluster a join may be answered WRONG_NODE (the room lives on another node):
// the call follows it, once per join; the join response lists the live nodes,
// and when the current node does not answer (it died) the call tries the next
// one, which sends it on to the room's new node.
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
}
