/**
 * The edge cache: L0 (in-process LRU) → L1 (Deno KV) → L2 (Upstash Redis) → origin, with
 * stale-while-revalidate, stale-if-error, per-node request coalescing, a cross-node lease and
 * tag invalidation propagated through a Redis event log that every node polls.
 *
 * This module composes the parts: the tier chain (tier_chain.ts), the invalidation tracker
 * (invalidation.ts) and the read path (read_through.ts).
 */
import type { Redis } from "@upstash/redis";
import type { CacheConfig, CacheKind, CacheWindows } from "../platform/config.ts";
import { errorFields, type Logger } from "../platform/log.ts";
import { withTimeout } from "../platform/timeout.ts";
import { BackgroundWork } from "./background.ts";
import { boundedKey } from "./cache_key.ts";
import type { CacheEntry } from "./entry.ts";
import { type InvalidationLog, InvalidationTracker } from "./invalidation.ts";
import { KvTier } from "./l1_kv.ts";
import { INVALIDATION_LOG_LENGTH, RedisTier } from "./l2_redis.ts";
import { Leases } from "./leases.ts";
import { CacheMetrics } from "./metrics.ts";
import { type CacheLookup, type CacheResult, ReadThrough } from "./read_through.ts";
import { TierChain } from "./tier_chain.ts";
import { TierGuard } from "./tier_guard.ts";

export { MAX_READABLE_KEY_LENGTH } from "./cache_key.ts";
export type { CacheEntry, CacheValue } from "./entry.ts";
export type { CacheLookup, CacheResult, CacheSource, OriginRead } from "./read_through.ts";

export interface EdgeCacheOptions {
  config: CacheConfig;
  logger: Logger;
  /** L1; omitted, the cache has no L1. */
  kv?: Deno.Kv;
  /** L2 and cross-node invalidation; omitted, invalidation is local to this node. */
  redis?: Redis;
  /** The cache clock (ms since epoch) for freshness; tests pass a controllable one. */
  now?: () => number;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Names this node in leases; defaults to a random id. */
  nodeId?: string;
  /** After an invalidation, origin loads read the primary this long (the replication lag bound). */
  primaryReadsAfterWriteMs?: number;
  metrics?: CacheMetrics;
}

/** The edge cache of one node. */
export interface EdgeCache {
  readonly metrics: CacheMetrics;
  /** The configured windows of a kind (for Cache-Control). */
  windows(kind: CacheKind): CacheWindows;
  /**
   * Returns the cached response for `lookup.key`, loading it from the origin when needed. A
   * cached "not found" is thrown again as a `NotFoundError` with the origin's message.
   */
  get(lookup: CacheLookup): Promise<CacheResult>;
  /** Invalidates `tags` on this node, in L2 and (through the event log) on every other node. */
  invalidate(tags: string[]): Promise<void>;
  /** Applies invalidation events from other nodes now (the poll loop calls this). */
  pollInvalidations(): Promise<void>;
  /** The L0 entry of `key`, without counting a hit. */
  peek(key: string): CacheEntry | undefined;
  /** Resolves when background revalidations and tier writes have finished. */
  settled(): Promise<void>;
  /** Stops polling and waits for background work. */
  close(): Promise<void>;
}

/**
 * Builds a node's cache and starts its invalidation poll loop (when Redis is configured).
 *
 * @example
 * ```ts
 * const cache = await createEdgeCache({ config: config.cache, logger, kv, redis });
 * const { entry, source } = await cache.get({ kind: "product", key, load });
 * ```
 */
export async function createEdgeCache(options: EdgeCacheOptions): Promise<EdgeCache> {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const metrics = options.metrics ?? new CacheMetrics();
  const background = new BackgroundWork(logger);
  const { guards, redisBudgetMs, opened, redisTier, sharedTier } = await openTiers(
    options,
    metrics,
  );
  const chain = new TierChain({
    l0MaxBytes: config.l0MaxBytes,
    kv: opened && { tier: opened.tier, guard: guards.kv },
    redis: sharedTier && { tier: sharedTier, guard: guards.redis, tagTtlMs: tagTtlMs(config) },
    now,
    background,
    metrics,
  });
  const tracker = new InvalidationTracker({
    tiers: chain,
    log: redisTier && redisInvalidationLog(redisTier, {
      guard: guards.redis,
      budgetMs: redisBudgetMs,
      metrics,
      logger,
    }),
    seenSeq: opened?.invalidationSeq,
    now,
    primaryReadsAfterWriteMs: options.primaryReadsAfterWriteMs ?? 10_000,
    metrics,
    logger,
    background,
  });
  const reads = new ReadThrough({
    config,
    chain,
    leases: sharedTier && new Leases(sharedTier, guards.redis, config.leaseMs),
    tracker,
    background,
    metrics,
    now,
    random: options.random ?? Math.random,
  });
  metrics.gauge("l0_bytes", () => chain.sizes.l0Bytes);
  metrics.gauge("l0_entries", () => chain.sizes.l0Entries);
  metrics.gauge("l1_generation_entries", () => chain.sizes.l1Entries);
  await tracker.poll();
  tracker.startPolling(config.invalidationPollMs);

  async function settled(): Promise<void> {
    await background.settled();
    await Promise.all([guards.kv.idle(), guards.redis.idle()]);
  }
  return {
    metrics,
    windows: (kind) => config.kinds[kind],
    get: (lookup) => reads.get(lookup),
    async invalidate(tags) {
      await tracker.invalidate(tags.map(boundedKey));
    },
    pollInvalidations: () => tracker.poll(),
    peek: (key) => chain.peek(boundedKey(key)),
    settled,
    async close() {
      await tracker.close();
      await settled();
    },
  };
}

/** The KV and Redis tiers behind their guards, as `options` and the settings ask. */
async function openTiers(options: EdgeCacheOptions, metrics: CacheMetrics) {
  const { config, logger } = options;
  const guardOptions = { budgetMs: config.tierBudgetMs, logger, metrics };
  const redisBudgetMs = config.redisBudgetMs ?? config.tierBudgetMs;
  const guards = {
    kv: new TierGuard("kv", guardOptions),
    redis: new TierGuard("redis", { ...guardOptions, budgetMs: redisBudgetMs }),
  };
  const opened = options.kv ? await openKvTier(options.kv, config, logger) : undefined;
  const redisTier = options.redis
    ? new RedisTier(options.redis, {
      nodeId: options.nodeId ?? crypto.randomUUID(),
      maxEntries: config.redisMaxEntries,
    })
    : undefined;
  // L2 on the request path (reads, fills, leases). Outside Redis's region a round trip to it
  // costs more than this region's replica, so a far node keeps Redis to invalidation events.
  const sharedTier = config.redisInRegion === false ? undefined : redisTier;
  return { guards, redisBudgetMs, opened, redisTier, sharedTier };
}

/** Start-up is not a request: KV gets longer than a tier call to answer before L1 is left out. */
const KV_OPEN_BUDGET_MS = 5000;

async function openKvTier(
  kv: Deno.Kv,
  config: CacheConfig,
  logger: Logger,
): Promise<Awaited<ReturnType<typeof KvTier.open>> | undefined> {
  const budgetMs = Math.max(config.tierBudgetMs, KV_OPEN_BUDGET_MS);
  try {
    return await withTimeout(KvTier.open(kv, { maxEntries: config.kvMaxEntries }), budgetMs, "KV");
  } catch (error) {
    logger.warn("cache tier kv unavailable at start-up, running without it", errorFields(error));
    return undefined;
  }
}

/** How long a tag's key set in L2 outlives the writes that add to it: the longest entry life. */
function tagTtlMs(config: CacheConfig): number {
  const lifetimes = Object.values(config.kinds).map((w) =>
    w.freshMs * (1 + config.jitter) + w.staleWhileRevalidateMs + w.staleIfErrorMs
  );
  return Math.max(...lifetimes) + 60_000;
}

/**
 * The invalidation log in L2 (unreachable: `undefined` and `false`). Reads go through the guard;
 * an event is tried even while the guard says down, since other nodes learn of a write only from
 * it (a slow poll a moment ago must not lose it).
 */
function redisInvalidationLog(
  tier: RedisTier,
  options: { guard: TierGuard; budgetMs: number; metrics: CacheMetrics; logger: Logger },
): InvalidationLog {
  return {
    recent: (count = INVALIDATION_LOG_LENGTH) =>
      options.guard.run(() => tier.recentInvalidations(count), undefined),
    async publish(tags) {
      try {
        await withTimeout(tier.invalidate(tags), options.budgetMs, "cache invalidation");
        return true;
      } catch (error) {
        options.metrics.inc("tier_errors", { tier: "redis" });
        options.logger.debug("cache invalidation not logged", errorFields(error));
        return false;
      }
    },
  };
}
