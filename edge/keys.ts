/**
 * Every Deno KV key and Redis key the shop writes, in one place (as SaaSKit keeps all KV access
 * in one module), so a reader can see the whole keyspace and no two features collide.
 *
 * KV keys are arrays; Redis keys are strings whose prefixes the Lua scripts in
 * cache/l2_redis.ts rebuild from the same constants.
 */

/**
 * Edge cache L1 (Deno KV); `generation` changes to orphan every L1 entry at once (no scans), and
 * everything of one generation lives under `["cache", generation]` so it is deleted as a range.
 */
export const kvCacheKeys = {
  /** Prefix of every generation. */
  all: ["cache"] as Deno.KvKey,
  /** The first key of a generation's range. */
  generationStart: (generation: number): Deno.KvKey => ["cache", generation],
  entry: (generation: number, key: string): Deno.KvKey => ["cache", generation, "e", key],
  /** Distinct keys written in a generation (a `Deno.KvU64` counter). */
  entryCount: (generation: number): Deno.KvKey => ["cache", generation, "n"],
  /** Secondary index: listing one tag's prefix finds exactly its keys. */
  tagIndex: (generation: number, tag: string, key: string): Deno.KvKey => [
    "cache",
    generation,
    "t",
    tag,
    key,
  ],
  tagPrefix: (generation: number, tag: string): Deno.KvKey => ["cache", generation, "t", tag],
  generation: ["cache_meta", "generation"] as Deno.KvKey,
  invalidationSeq: ["cache_meta", "invalidation_seq"] as Deno.KvKey,
} as const;

/** Edge cache L2 (Redis). */
export const redisCacheKeys = {
  entryPrefix: "cache:e:",
  tagPrefix: "cache:t:",
  entry: (key: string): string => `cache:e:${key}`,
  tag: (tag: string): string => `cache:t:${tag}`,
  lease: (key: string): string => `cache:lease:${key}`,
  /** Sorted set of stored keys, oldest write first: the count bound evicts from its head. */
  entryOrder: "cache:idx:order",
  /** Its scores: a counter incremented per write. */
  entryOrderSeq: "cache:idx:seq",
  /** Hash key → JSON array of its tags, so an evicted key leaves its tag sets too. */
  entryTags: "cache:idx:tags",
  /** Newest-first list of invalidation events `{ seq, tags }`, trimmed to a few hundred. */
  invalidationLog: "cache:inval:log",
  invalidationSeq: "cache:inval:seq",
  /** Hash tag → seq of its last invalidation; refuses writes of data loaded before it. */
  tagSeqs: "cache:inval:tagseq",
} as const;

/** Access-token denylist: a Redis sorted set scored by logout time; KV rows by logout time. */
export const denylistKeys = {
  redis: "auth:denylist",
  kvPrefix: ["auth_denylist"] as Deno.KvKey,
  kvEntry: (loggedOutAt: number, jti: string): Deno.KvKey => ["auth_denylist", loggedOutAt, jti],
} as const;

/** Sliding-window rate limits. */
export const rateLimitKeys = {
  /** Default prefix; tests pass their own so they can share one Redis. */
  defaultPrefix: "rl",
  /** Upstash ratelimit's own key prefix for one rule. */
  redisPrefix: (prefix: string, rule: string): string => `${prefix}:${rule}`,
  /** KV counters are `[...scope, window, identifier]`. */
  kvScope: (prefix: string, rule: string): Deno.KvKey => [prefix, rule],
} as const;

/** The readiness probe's KV read (any key will do; this one is never written). */
export const readinessKvKey: Deno.KvKey = ["readyz"];
