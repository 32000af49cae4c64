/**
 * Runs async tasks one after another, in the order they were pushed. A task
 * that fails does not stop the ones after it; its caller gets the rejection.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  push<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Resolves when everything pushed so far has finished. */
  drained(): Promise<void> {
    return this.#tail.then(() => {});
  }
}
