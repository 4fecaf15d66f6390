/**
 * A failure breaker: after a failure, callers skip the dependency for `coolDownMs` instead of
 * waiting on it again; after the cool-down one caller at a time probes it (half-open) while the
 * others keep skipping, so a dependency that hangs rather than refuses costs one waiting request
 * per cool-down, not every request that arrives while the probe waits. With a `probe` option a
 * background check takes the caller's place, and callers keep skipping until it succeeds. Health
 * changes are reported once per outage (when it starts and when it ends), never per call.
 */
import { errorFields, type Logger } from "./log.ts";

export interface Breaker {
  /** True while the cool-down runs or a probe is out: skip the dependency. */
  isOpen(): boolean;
  /**
   * For a caller about to call the dependency: false while `isOpen()`; otherwise true, and after
   * an outage this caller becomes the probe, which must report with `succeed()` or `fail()`
   * (a probe that never reports is given up after one cool-down).
   */
  allow(): boolean;
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
  let probeUntil = -Infinity;
  let healthy = true;
  let probing = false;
  const isOpen = () => {
    const at = now();
    if (at < openUntil || at < probeUntil) return true;
    if (!options.probe || healthy) return false;
    // A background probe stands in for the half-open caller: nobody waits on the dependency.
    if (!probing) {
      probing = true;
      options.probe().then(() => breaker.succeed(), (error) => breaker.fail(error))
        .finally(() => probing = false);
    }
    return true;
  };
  const breaker: Breaker = {
    isOpen,
    allow() {
      if (isOpen()) return false;
      if (!healthy) probeUntil = now() + options.coolDownMs;
      return true;
    },
    retryAfterSeconds: () =>
      Math.max(1, Math.ceil((Math.max(openUntil, probeUntil) - now()) / 1000)),
    get healthy() {
      return healthy;
    },
    fail(error) {
      openUntil = now() + options.coolDownMs;
      probeUntil = -Infinity;
      if (healthy) options.onHealthChange?.(false, error);
      healthy = false;
    },
    succeed() {
      probeUntil = -Infinity;
      if (!healthy) options.onHealthChange?.(true);
      healthy = true;
    },
  };
  return breaker;
}

/**
 * A breaker for an optional shared store (Redis) whose outages are logged once as they start and
 * once as they end: "<what> unavailable, <fallback>" at warn, "<what> reachable again" at info.
 * A single failed call (one timeout on a busy machine) is a blip, not an outage: the warning waits
 * for the probe after the cool-down to fail too.
 */
export function createOutageBreaker(options: {
  what: string;
  fallback: string;
  logger?: Logger;
  coolDownMs?: number;
}): Breaker {
  const { what, logger } = options;
  let failures = 0;
  let announced = false;
  const breaker = createBreaker({ coolDownMs: options.coolDownMs ?? 1000 });
  return {
    isOpen: breaker.isOpen,
    allow: breaker.allow,
    retryAfterSeconds: breaker.retryAfterSeconds,
    get healthy() {
      return breaker.healthy;
    },
    fail(error) {
      breaker.fail(error);
      if (++failures === 2) {
        announced = true;
        logger?.warn(`${what} unavailable, ${options.fallback}`, errorFields(error));
      }
    },
    succeed() {
      breaker.succeed();
      if (announced) logger?.info(`${what} reachable again`);
      failures = 0;
      announced = false;
    },
  };
}
