/**
 * A failure breaker: after a failure, callers skip the dependency for `coolDownMs` instead of
 * waiting on it again; the first call after the cool-down probes it (or, with a `probe`, a
 * background check does, and callers keep skipping it until that succeeds). Health changes are
 * reported once per outage (when it starts and when it ends), never per call.
 */
export interface Breaker {
  /** True while the cool-down after the last failure runs: skip the dependency. */
  isOpen(): boolean;
  /** Whole seconds until the cool-down ends, at least 1 (for `Retry-After`). */
  retryAfterSeconds(): number;
  /** Whether the last call succeeded. */
  readonly healthy: boolean;
  fail(error: unknown): void;
  succeed(): void;
}

export interface BreakerOptions {
  coolDownMs: number;
  /**
   * Checks the dependency in the background when a cool-down ends; the breaker stays open until
   * a check succeeds, so no caller waits on a dependency that swallows requests (a network
   * partition) more than once per outage.
   */
  probe?: () => Promise<unknown>;
  /** Called when the dependency becomes unhealthy (with the error) or healthy again. */
  onHealthChange?: (healthy: boolean, error?: unknown) => void;
  now?: () => number;
}

/** Creates a breaker; see `Breaker`. */
export function createBreaker(options: BreakerOptions): Breaker {
  const now = options.now ?? performance.now.bind(performance);
  let openUntil = -Infinity;
  let healthy = true;
  let probing = false;
  const breaker: Breaker = {
    isOpen() {
      if (now() < openUntil) return true;
      if (!options.probe || healthy) return false;
      if (!probing) {
        probing = true;
        options.probe().then(() => breaker.succeed(), (error) => breaker.fail(error))
          .finally(() => probing = false);
      }
      return true;
    },
    retryAfterSeconds: () => Math.max(1, Math.ceil((openUntil - now()) / 1000)),
    get healthy() {
      return healthy;
    },
    fail(error) {
      openUntil = now() + options.coolDownMs;
      if (healthy) options.onHealthChange?.(false, error);
      healthy = false;
    },
    succeed() {
      if (!healthy) options.onHealthChange?.(true);
      healthy = true;
    },
  };
  return breaker;
}
