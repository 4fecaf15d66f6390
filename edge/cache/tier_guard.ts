/**
 * Keeps optional tiers (KV, Redis) optional: every call has a time budget, failures are skipped,
 * and an outage is logged once when it starts and once when it ends, never per request.
 */
import { errorFields, type Logger } from "../platform/log.ts";
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
  #down = false;
  #skipUntil = 0;
  readonly name: string;
  readonly options: Required<TierGuardOptions>;

  constructor(name: string, options: TierGuardOptions) {
    this.name = name;
    this.options = { retryAfterMs: 500, ...options };
  }

  get down(): boolean {
    return this.#down;
  }

  /** Runs `call`; on error, timeout or while the tier is down, returns `fallback` instead. */
  async run<T>(call: () => Promise<T>, fallback: T): Promise<T> {
    if (this.#down && performance.now() < this.#skipUntil) return fallback;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pending = call();
    try {
      const value = await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new Error(`${this.name} did not answer within ${this.options.budgetMs} ms`)),
            this.options.budgetMs,
          );
        }),
      ]);
      if (this.#down) {
        this.#down = false;
        this.options.logger.info(`cache tier ${this.name} recovered`, { tier: this.name });
      }
      return value;
    } catch (error) {
      pending.catch(() => {});
      this.options.metrics.inc("tier_errors", { tier: this.name });
      if (!this.#down) {
        this.#down = true;
        this.options.logger.warn(`cache tier ${this.name} unavailable, skipping it`, {
          tier: this.name,
          ...errorFields(error),
        });
      }
      this.#skipUntil = performance.now() + this.options.retryAfterMs;
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  }
}
