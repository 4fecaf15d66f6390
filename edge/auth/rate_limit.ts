/**
 * Sliding-window rate limits shared by every instance: `@upstash/ratelimit` over Redis when it
 * is configured, an equivalent Deno KV limiter otherwise.
 *
 * Redis down or slow (the client gives up after REDIS_TIMEOUT_MS): we fail open to the KV
 * limiter rather than to "allow everything" or "refuse everything". KV still bounds a brute-force
 * attempt (per KV store, i.e. per region on Deploy, per host locally), and logins keep working
 * while Redis recovers.
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
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
  /** Counts one hit for each pair; throws `RateLimitedError` when any is over its limit. */
  enforce(hits: Array<[R, string]>): Promise<void>;
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
  const upstash = new Map<R, Ratelimit>();
  if (redis) {
    for (const [name, rule] of Object.entries(rules) as Array<[R, RateLimitRule]>) {
      upstash.set(
        name,
        new Ratelimit({
          redis,
          limiter: Ratelimit.slidingWindow(rule.limit, `${rule.windowSeconds} s`),
          prefix: rateLimitKeys.redisPrefix(prefix, name),
          analytics: false,
          // 0: no "allow on timeout" — the Redis client's own timeout throws, and we fall back.
          timeout: 0,
        }),
      );
    }
  }

  async function limit(rule: R, identifier: string): Promise<RateLimitResult> {
    const limiter = upstash.get(rule);
    if (limiter) {
      try {
        const { success, limit, remaining, reset } = await limiter.limit(identifier);
        if (Number.isFinite(remaining) && Number.isFinite(reset)) {
          return { success, limit, remaining: Math.max(0, remaining), reset };
        }
        logger?.warn("rate limit: malformed redis answer, using kv", { rule });
      } catch (error) {
        logger?.warn("rate limit: redis unavailable, using kv", { rule, ...errorFields(error) });
      }
    }
    return await kvSlidingWindow(
      kv,
      { scope: rateLimitKeys.kvScope(prefix, rule), identifier },
      rules[rule],
    );
  }

  return {
    limit,
    async enforce(hits) {
      const results = await Promise.all(hits.map(([rule, id]) => limit(rule, id)));
      const refused = results.filter((r) => !r.success);
      if (refused.length > 0) {
        refused.sort((a, b) => b.reset - a.reset);
        throw new RateLimitedError(refused[0]);
      }
    },
  };
}

/**
 * The sliding-window approximation Upstash uses (previous window weighted by how much of it
 * still overlaps, plus the current window), over KV.
 *
 * Counting is an atomic `sum`, which never conflicts: every concurrent hit on one key (a whole
 * office behind one address, or a load test) costs one write and one read, with no retry loop
 * that could stall under contention or refuse for want of a winner. The hit is counted before
 * the decision, so a refused hit counts too.
 *
 * Sums cannot carry an expiry, so counters are keyed `[...scope, window, identifier]`: the first
 * hit of a new window deletes the window before last, one bounded range under one prefix (never
 * a scan of the keyspace). Live counters are at most two windows' worth of identifiers.
 */
export async function kvSlidingWindow(
  kv: Deno.Kv,
  key: { scope: Deno.KvKey; identifier: string },
  rule: RateLimitRule,
  now = Date.now(),
): Promise<RateLimitResult> {
  const windowMs = rule.windowSeconds * 1000;
  const window = Math.floor(now / windowMs);
  const currentKey = [...key.scope, window, key.identifier];
  const counted = await kv.atomic().sum(currentKey, 1n).commit();
  if (!counted.ok) throw new Error("Rate limit counter was not written");
  const [previous, current] = await kv.getMany<[Deno.KvU64, Deno.KvU64]>([
    [...key.scope, window - 1, key.identifier],
    currentKey,
  ]);
  if (current.value?.value === 1n) dropWindow(kv, [...key.scope, window - 2]);
  const elapsed = (now % windowMs) / windowMs;
  const used = Math.floor(Number(previous.value?.value ?? 0n) * (1 - elapsed)) +
    Number(current.value?.value ?? 1n);
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
