/**
 * Polls `probe` until it returns a value that is not undefined/false, or fails after `timeoutMs`
 * with `what` in the message. The only way tests wait: never a bare sleep.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5_000,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls `probe` until `accept` holds for its value; the failure message shows the last value seen. */
export async function waitForValue<T>(
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  let last: T | undefined;
  try {
    return await waitFor(what, async () => {
      last = await probe();
      return accept(last) ? { value: last } : undefined;
    }, timeoutMs, 5).then((box) => box.value);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last value: ${JSON.stringify(last)}`, { cause: error });
  }
}

/** Polls `predicate` until it is true (or fails after `timeoutMs`). */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  await waitFor(what, predicate, timeoutMs, 5);
}
