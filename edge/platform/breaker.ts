/**
 * A failure breaker: after a failure, callers skip the dependency for `coolDownMs` instead of
 * waiting on it again; the first call after the cool-down probes it. Health changes are reported
 * once per outage (when it starts and when it ends), never per call.
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
  /** Called when the dependency becomes unhealthy (with the error) or healthy again. */
  onHealthChange?: (healthy: boolean, error?: unknown) => void;
  now?: () => number;
}

/** Creates a breaker; see `Breaker`. */
export function createBreaker(options: BreakerOptions): Breaker {
  const now = options.now ?? performance.now.bind(performance);
  let openUntil = -Infinity;
  let healthy = true;
  return {
    isOpen: () => now() < openUntil,
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
}
