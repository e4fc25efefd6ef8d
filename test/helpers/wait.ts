/**
 * Polling for tests that wait on other processes (a job to finish, an audit entry to appear): every wait is bounded,
 * and a timeout names what was awaited instead of hanging the run.
 */

/** Polls `probe` until it returns something other than undefined, and returns that; fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls `ready` until it is true; fails after `timeoutMs`. */
export async function waitFor(
  what: string,
  ready: () => boolean | Promise<boolean>,
  timeoutMs = 8_000,
  everyMs = 50,
): Promise<void> {
  await until(what, async () => ((await ready()) ? true : undefined), timeoutMs, everyMs);
}
