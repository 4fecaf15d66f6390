/** Thrown by `withTimeout` when the budget runs out first. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * Settles like `promise`, or rejects with a `TimeoutError` after `ms`; the timer never outlives
 * the race. The abandoned promise's late rejection is swallowed, so it cannot go unhandled.
 *
 * @example await withTimeout(kv.get(key), 50, "kv get")
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = "call"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`${what} did not answer within ${ms} ms`)),
      ms,
    );
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
