/**
 * Keeps optional tiers (KV, Redis) optional: every call has a time budget and a failure returns
 * a fallback instead of throwing. A tier is declared down only on evidence, never because a busy
 * CPU made calls slow: an over-budget call is watched until it answers, and an answer, however
 * late, proves the tier alive. An outage is several failures in a row, where a failure is an
 * error, or a call still unanswered after `lateAnswerMs` while nothing else answered for that
 * long either. While down, calls are skipped and one probe at a time tries the tier after a
 * cool-down. An outage is logged once when it starts and once when it ends, with counts.
 */
import { type Breaker, createBreaker } from "../platform/breaker.ts";
import { errorFields, type Logger } from "../platform/log.ts";
import { TimeoutError, withTimeout } from "../platform/timeout.ts";
import type { CacheMetrics } from "./metrics.ts";

export interface TierGuardOptions {
  budgetMs: number;
  logger: Logger;
  metrics: CacheMetrics;
  /** While down, calls are skipped without trying for this long (then one call probes). */
  retryAfterMs?: number;
  /** Failures in a row, with no success in between, that make an outage. */
  failuresToOpen?: number;
  /** A call over budget still unanswered after this long, with no other answer meanwhile, failed. */
  lateAnswerMs?: number;
  /** Clock (ms) for the cool-down, outage durations and the last answer. */
  now?: () => number;
}

interface Outage {
  since: number;
  /** Failed calls, from the first of the run that opened it. */
  failures: number;
  /** Calls answered with the fallback without trying the tier. */
  skipped: number;
}

/** Runs tier calls within a budget and falls back instead of throwing. */
export class TierGuard {
  readonly name: string;
  readonly #options: Required<TierGuardOptions>;
  readonly #breaker: Breaker;
  #failuresInARow = 0;
  /** When the tier last answered (in budget or late). */
  #lastAnswerAt: number;
  #outage: Outage | undefined;
  #probing = false;
  /** Calls that ran over budget and are still being watched for their late answer. */
  readonly #late = new Set<Promise<void>>();

  constructor(name: string, options: TierGuardOptions) {
    this.name = name;
    this.#options = {
      retryAfterMs: 500,
      failuresToOpen: 3,
      lateAnswerMs: Math.max(1000, options.budgetMs * 10),
      now: () => performance.now(),
      ...options,
    };
    this.#breaker = createBreaker({
      coolDownMs: this.#options.retryAfterMs,
      now: this.#options.now,
    });
    this.#lastAnswerAt = this.#options.now();
  }

  /** True while an outage is declared. */
  get down(): boolean {
    return this.#outage !== undefined;
  }

  /** Runs `call`; on error, timeout or while the tier is down, returns `fallback` instead. */
  async run<T>(call: () => Promise<T>, fallback: T): Promise<T> {
    if (this.#outage) {
      if (this.#breaker.isOpen() || this.#probing) {
        this.#outage.skipped++;
        return fallback;
      }
      this.#probing = true;
    }
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      pending = Promise.reject(error);
    }
    try {
      const value = await withTimeout(pending, this.#options.budgetMs, `cache tier ${this.name}`);
      this.#succeeded();
      return value;
    } catch (error) {
      this.#options.metrics.inc("tier_errors", { tier: this.name });
      if (error instanceof TimeoutError) this.#watchLateAnswer(pending);
      else this.#failed(error);
      return fallback;
    }
  }

  /** Resolves when every over-budget call has answered or been given up on. */
  async idle(): Promise<void> {
    while (this.#late.size > 0) await Promise.all([...this.#late]);
  }

  /** An over-budget call still proves the tier alive if it answers within `lateAnswerMs`. */
  #watchLateAnswer(pending: Promise<unknown>): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<"gave_up">((resolve) => {
      timer = setTimeout(() => resolve("gave_up"), this.#options.lateAnswerMs);
    });
    const watched = Promise.race([pending.then(() => "answered" as const), gaveUp]).then(
      (outcome) => {
        if (outcome === "answered") return this.#succeeded();
        const { lateAnswerMs, now } = this.#options;
        const error = new TimeoutError(
          `cache tier ${this.name} did not answer within ${lateAnswerMs} ms`,
        );
        // Calls queued behind a burst can all run late while the tier keeps answering others.
        this.#failed(error, { evident: now() - this.#lastAnswerAt >= lateAnswerMs });
      },
      (error) => this.#failed(error),
    ).finally(() => {
      clearTimeout(timer);
      this.#late.delete(watched);
    });
    this.#late.add(watched);
  }

  #succeeded(): void {
    this.#failuresInARow = 0;
    this.#lastAnswerAt = this.#options.now();
    this.#probing = false;
    const outage = this.#outage;
    if (!outage) return;
    this.#outage = undefined;
    this.#breaker.succeed();
    this.#options.logger.info(`cache tier ${this.name} recovered`, {
      tier: this.name,
      downMs: Math.round(this.#options.now() - outage.since),
      failures: outage.failures,
      skipped: outage.skipped,
    });
  }

  /** Counts a failure; `evident: false` counts it without letting it open an outage. */
  #failed(error: unknown, { evident } = { evident: true }): void {
    this.#failuresInARow++;
    this.#probing = false;
    if (this.#outage) {
      this.#outage.failures++;
      this.#breaker.fail(error);
      return;
    }
    if (!evident || this.#failuresInARow < this.#options.failuresToOpen) return;
    this.#outage = { since: this.#options.now(), failures: this.#failuresInARow, skipped: 0 };
    this.#breaker.fail(error);
    this.#options.logger.warn(`cache tier ${this.name} unavailable, skipping it`, {
      tier: this.name,
      failures: this.#failuresInARow,
      ...errorFields(error),
    });
  }
}
