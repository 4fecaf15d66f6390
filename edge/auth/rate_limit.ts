/**
 * Fixed-window rate limits shared by every instance: `@upstash/ratelimit` over Redis when it is
 * configured, the same algorithm over Deno KV otherwise.
 *
 * Why fixed windows: the wait they announce is exact. When a window is full, the next one starts
 * empty at `reset`, so `Retry-After` is the real wait; a sliding window also weighs the previous
 * window, so a shopper who waited the announced `reset` could still be refused (seen: "23 s",
 * then still 429 after 56). The price is a burst of up to twice the limit across a boundary.
 *
 * Hits can be refunded: a login counts a hit before the password is checked and gives it back
 * when the password was right, so only failed attempts count and a burst of parallel guesses is
 * still bounded by the counter, not by a check-then-count race.
 *
 * Redis down or slow (the client gives up after REDIS_TIMEOUT_MS): we fail open to the KV
 * limiter rather than to "allow everything" or "refuse everything". KV still bounds a brute-force
 * attempt (per KV store, i.e. per region on Deploy, per host locally), and logins keep working
 * while Redis recovers.
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import { createOutageBreaker } from "../platform/breaker.ts";
import { errorFields, type Logger } from "../platform/log.ts";
import { rateLimitKeys } from "../keys.ts";
import { AppError } from "../platform/errors.ts";

import type { RateLimitRule } from "../platform/config.ts";

export type { RateLimitRule };

export interface RateLimitResult {
  success: boolean;
  limit: number;
  remaining: number;
  /** When the window frees up, ms since the epoch. */
  reset: number;
}

/** A limit was exceeded; carries what the 429 headers need. */
export class RateLimitedError extends AppError {
  override name = "RateLimitedError";
  /** Whole seconds until a retry can succeed, at least 1. */
  readonly retryAfterSeconds: number;
  constructor(readonly result: RateLimitResult, now = Date.now()) {
    const wait = Math.max(1, Math.ceil((result.reset - now) / 1000));
    super(429, "rate_limited", `Too many attempts. Please wait ${wait} s and try again.`, {
      headers: {
        "Retry-After": String(wait),
        "RateLimit-Limit": String(result.limit),
        "RateLimit-Remaining": String(result.remaining),
        "RateLimit-Reset": String(wait),
      },
    });
    this.retryAfterSeconds = wait;
  }
}

export interface RateLimiter<R extends string> {
  /** Counts one hit of `identifier` against `rule`. */
  limit(rule: R, identifier: string): Promise<RateLimitResult>;
  /** Gives back one hit of `identifier` counted against `rule` (in the current window). */
  refund(rule: R, identifier: string): Promise<void>;
  /**
   * Counts one hit for each pair, in order, and stops at the first refusal, giving back the
   * hits already counted, so a request refused by one limit spends nothing of the others; throws
   * `RateLimitedError` with that limit's wait. Resolves with a refund of all of them.
   */
  enforce(hits: Array<[R, string]>): Promise<{ refund(): Promise<void> }>;
}

export interface RateLimiterOptions<R extends string> {
  rules: Record<R, RateLimitRule>;
  kv: Deno.Kv;
  redis?: Redis;
  logger?: Logger;
  /** Key prefix, so tests and tenants can share a Redis. */
  prefix?: string;
}

/** Creates the limiter; the Upstash limiters are built here once, not per request. */
export function createRateLimiter<R extends string>(
  options: RateLimiterOptions<R>,
): RateLimiter<R> {
  const { kv, redis, logger, rules } = options;
  const prefix = options.prefix ?? rateLimitKeys.defaultPrefix;
  // While Redis is down, limits go straight to KV: one log line per outage, not per login.
  const redisHealth = createOutageBreaker({
    what: "rate limit: redis",
    fallback: "using kv",
    logger,
  });
  const upstash = new Map<R, Ratelimit>();
  if (redis) {
    for (const [name, rule] of Object.entries(rules) as Array<[R, RateLimitRule]>) {
      upstash.set(
        name,
        new Ratelimit({
          redis,
          limiter: Ratelimit.fixedWindow(rule.limit, `${rule.windowSeconds} s`),
          prefix: rateLimitKeys.redisPrefix(prefix, name),
          analytics: false,
          // Its in-process block list is an unbounded Map keyed by identifier (any email an
          // attacker sends), and it would not see refunds made on other instances.
          ephemeralCache: false,
          // 0: no "allow on timeout" — the Redis client's own timeout throws, and we fall back.
          timeout: 0,
        }),
      );
    }
  }

  async function count(rule: R, identifier: string, rate: 1 | -1): Promise<RateLimitResult> {
    const limiter = upstash.get(rule);
    if (limiter && redisHealth.allow()) {
      try {
        const { success, limit, remaining, reset } = await limiter.limit(identifier, { rate });
        if (!Number.isFinite(remaining) || !Number.isFinite(reset)) {
          throw new TypeError(`Malformed answer from Redis for rule "${rule}"`);
        }
        redisHealth.succeed();
        return { success, limit, remaining: Math.max(0, remaining), reset };
      } catch (error) {
        redisHealth.fail(error);
      }
    }
    return await kvFixedWindow(
      kv,
      { scope: rateLimitKeys.kvScope(prefix, rule), identifier },
      rules[rule],
      { refund: rate < 0 },
    );
  }

  const limit = (rule: R, identifier: string) => count(rule, identifier, 1);
  const refund = async (rule: R, identifier: string) => {
    await count(rule, identifier, -1);
  };

  return {
    limit,
    refund,
    async enforce(hits) {
      const counted: Array<[R, string]> = [];
      // A refund that cannot be written costs the shopper one counted attempt, never an answer.
      const refundAll = () =>
        Promise.all(counted.map(([rule, id]) =>
          refund(rule, id).catch((error) => {
            logger?.warn("rate limit: refund not written", { rule, ...errorFields(error) });
          })
        ));
      for (const [rule, id] of hits) {
        const result = await limit(rule, id);
        if (!result.success) {
          await refundAll();
          throw new RateLimitedError(result);
        }
        counted.push([rule, id]);
      }
      return {
        async refund() {
          await refundAll();
        },
      };
    },
  };
}

/**
 * A fixed window over KV: hits and refunds are two atomic `sum` counters per window, which never
 * conflict, so every concurrent hit on one key (a whole office behind one address, or a load
 * test) costs one write and one read, with no retry loop that could stall under contention or
 * refuse for want of a winner. Refused hits count too, but only until the window ends, which is
 * exactly the announced `reset`.
 *
 * Sums cannot carry an expiry, so counters are keyed `[...scope, window, identifier]`: the first
 * hit of a new window deletes the window before last, one bounded range under one prefix (never
 * a scan of the keyspace). Live counters are at most two windows' worth of identifiers.
 */
export async function kvFixedWindow(
  kv: Deno.Kv,
  key: { scope: Deno.KvKey; identifier: string },
  rule: RateLimitRule,
  options: { refund?: boolean; now?: number } = {},
): Promise<RateLimitResult> {
  const now = options.now ?? Date.now();
  const windowMs = rule.windowSeconds * 1000;
  const window = Math.floor(now / windowMs);
  const hitsKey = [...key.scope, window, key.identifier];
  const refundsKey = [...key.scope, window, key.identifier, "refunds"];
  const counted = await kv.atomic().sum(options.refund ? refundsKey : hitsKey, 1n).commit();
  if (!counted.ok) throw new Error("Rate limit counter was not written");
  const [hits, refunds] = await kv.getMany<[Deno.KvU64, Deno.KvU64]>([hitsKey, refundsKey]);
  if (!options.refund && hits.value?.value === 1n) dropWindow(kv, [...key.scope, window - 2]);
  const used = Math.max(
    0,
    Number(hits.value?.value ?? 0n) - Number(refunds.value?.value ?? 0n),
  );
  const reset = (window + 1) * windowMs;
  if (used > rule.limit) return { success: false, limit: rule.limit, remaining: 0, reset };
  return { success: true, limit: rule.limit, remaining: rule.limit - used, reset };
}
const droppedWindows = new Set<string>();

/** Deletes every counter of one finished window, in the background, once per process. */
function dropWindow(kv: Deno.Kv, prefix: Deno.KvKey): void {
  const id = JSON.stringify(prefix);
  if (droppedWindows.has(id)) return;
  droppedWindows.add(id);
  if (droppedWindows.size > 10_000) droppedWindows.clear();
  (async () => {
    let batch = kv.atomic();
    let size = 0;
    for await (const entry of kv.list({ prefix }, { batchSize: 500 })) {
      batch.delete(entry.key);
      if (++size === 500) {
        await batch.commit();
        batch = kv.atomic();
        size = 0;
      }
    }
    if (size > 0) await batch.commit();
  })().catch(() => {
    droppedWindows.delete(id); // the next window's first hit tries again
  });
}
