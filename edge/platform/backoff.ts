/**
 * Retry delays: exponential backoff with "equal jitter" (half fixed, half random), so retries
 * of many rows that failed together spread out instead of returning in lockstep, and each
 * attempt still waits at least half its exponential step.
 *
 * @example
 * ```ts
 * backoffDelay(3, { baseMs: 1000, maxMs: 60_000 }) // between 2000 and 4000
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: { baseMs: number; maxMs: number; random?: () => number },
): number {
  const random = options.random ?? Math.random;
  const step = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}
