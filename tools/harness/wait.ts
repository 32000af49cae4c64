// Waiting for a condition instead of for a time (no timed assertions).

/** Polls `cond` every 20 ms until it holds; throws after `ms` naming `what` (a function: described when it times out). */
export async function until(cond: () => boolean | Promise<boolean>, what: string | (() => string), ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
