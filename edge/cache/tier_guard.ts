/**
 * Keeps optional tiers (KV, Redis) optional: every call has a time budget, failures are skipped,
 * and an outage is logged once when it starts and once when it ends, never per request.
 */
import { type Breaker, createBreaker } from "../platform/breaker.ts";
import { errorFields, type Logger } from "../platform/log.ts";
import { withTimeout } from "../platform/timeout.ts";
import type { CacheMetrics } from "./metrics.ts";

export interface TierGuardOptions {
  budgetMs: number;
  logger: Logger;
  metrics: CacheMetrics;
  /** While down, calls are skipped without trying for this long (then one call probes). */
  retryAfterMs?: number;
}

/** Runs tier calls within a budget and falls back instead of throwing. */
export class TierGuard {
  readonly name: string;
  readonly options: Required<TierGuardOptions>;
  readonly #breaker: Breaker;

  constructor(name: string, options: TierGuardOptions) {
    this.name = name;
    this.options = { retryAfterMs: 500, ...options };
    this.#breaker = createBreaker({
      coolDownMs: this.options.retryAfterMs,
      onHealthChange: (healthy, error) =>
        healthy
          ? this.options.logger.info(`cache tier ${name} recovered`, { tier: name })
          : this.options.logger.warn(`cache tier ${name} unavailable, skipping it`, {
            tier: name,
            ...errorFields(error),
          }),
    });
  }

  get down(): boolean {
    return !this.#breaker.healthy;
  }

  /** Runs `call`; on error, timeout or while the tier is down, returns `fallback` instead. */
  async run<T>(call: () => Promise<T>, fallback: T): Promise<T> {
    if (this.#breaker.isOpen()) return fallback;
    try {
      const value = await withTimeout(call(), this.options.budgetMs, this.name);
      this.#breaker.succeed();
      return value;
    } catch (error) {
      this.options.metrics.inc("tier_errors", { tier: this.name });
      this.#breaker.fail(error);
      return fallback;
    }
  }
}
