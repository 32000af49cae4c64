// A small typed event emitter (events as a map of argument tuples, as in
// mediasoup's enhancedEvents): a listener that throws is logged and does not
// stop the others or the emitter. No Node imports: it runs in the browser.
export class Emitter<Events extends Record<string, unknown[]>> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- listeners of different events share the map
  readonly #listeners = new Map<keyof Events, Set<(...args: any[]) => void>>();

  /** Adds a listener; returns the function that removes it. */
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (err) {
        console.error(`chorus: a '${String(event)}' listener failed`, err);
      }
    }
  }
}
