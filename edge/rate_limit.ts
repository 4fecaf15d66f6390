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
import type { Logger } from "./log.ts";

export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
}

export interface RateLimitResult {
  success: boolean;
  limit: number;
  remaining: number;
  /** When the window frees up, ms since the epoch. */
  reset: number;
}

/** A limit was exceeded; carries what the 429 headers need. */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
  constructor(readonly result: RateLimitResult) {
    super("Too many requests");
  }
  /** Whole seconds until a retry can succeed, at least 1. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.result.reset - Date.now()) / 1000));
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
  const prefix = options.prefix ?? "rl";
  const upstash = new Map<R, Ratelimit>();
  if (redis) {
    for (const [name, rule] of Object.entries(rules) as Array<[R, RateLimitRule]>) {
      upstash.set(
        name,
        new Ratelimit({
          redis,
          limiter: Ratelimit.slidingWindow(rule.limit, `${rule.windowSeconds} s`),
          prefix: `${prefix}:${name}`,
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
        logger?.warn("rate limit: redis unavailable, using kv", { rule, error: String(error) });
      }
    }
    return await kvSlidingWindow(kv, [prefix, rule, identifier], rules[rule]);
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
 * still overlaps, plus the current window), over KV with versionstamp-checked atomic writes.
 */
export async function kvSlidingWindow(
  kv: Deno.Kv,
  key: Deno.KvKey,
  rule: RateLimitRule,
): Promise<RateLimitResult> {
  const windowMs = rule.windowSeconds * 1000;
  for (let attempt = 0; attempt < 100; attempt++) {
    // Jittered back-off after a lost versionstamp race spreads concurrent writers out.
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, attempt)));
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const currentKey = [...key, window];
    const [previous, current] = await kv.getMany<[number, number]>([
      [...key, window - 1],
      currentKey,
    ]);
    const elapsed = (now % windowMs) / windowMs;
    const used = Math.floor((previous.value ?? 0) * (1 - elapsed)) + (current.value ?? 0);
    const reset = (window + 1) * windowMs;
    if (used >= rule.limit) return { success: false, limit: rule.limit, remaining: 0, reset };
    const result = await kv.atomic()
      .check(current)
      .set(currentKey, (current.value ?? 0) + 1, { expireIn: windowMs * 2 })
      .commit();
    if (result.ok) {
      return { success: true, limit: rule.limit, remaining: rule.limit - used - 1, reset };
    }
  }
  // Heavy contention on one key is itself a sign of abuse.
  return { success: false, limit: rule.limit, remaining: 0, reset: Date.now() + 1000 };
}
