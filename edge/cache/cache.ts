/**
 * The edge cache: L0 (in-process LRU) → L1 (Deno KV) → L2 (Upstash Redis) → origin, with
 * stale-while-revalidate, stale-if-error, per-node request coalescing, a cross-node lease and
 * tag invalidation propagated through a Redis event log that every node polls.
 */
import type { Redis } from "@upstash/redis";
import type { CacheConfig, CacheKind, CacheWindows } from "../platform/config.ts";
import { findAppError } from "../platform/errors.ts";
import { errorFields, type Logger } from "../platform/log.ts";
import { type CacheEntry, type CacheValue, createEntry, entryBytes } from "./entry.ts";
import { KvTier } from "./l1_kv.ts";
import { INVALIDATION_LOG_LENGTH, type InvalidationEvent, RedisTier } from "./l2_redis.ts";
import { ByteLru } from "./lru.ts";
import { CacheMetrics } from "./metrics.ts";
import { TierGuard } from "./tier_guard.ts";
import { withTimeout } from "../platform/timeout.ts";

/** Logical keys are kept short; anything longer bypasses the cache (KV keys cap at 2 KiB). */
export const MAX_CACHE_KEY_LENGTH = 512;

export type { CacheEntry, CacheValue } from "./entry.ts";

/** Which tier answered: a fresh hit in L0/L1/L2, the origin (MISS), or a stale entry. */
export type CacheSource = "L0" | "L1" | "L2" | "MISS" | "STALE" | "BYPASS";

/** How the origin should be read for one load. */
export interface OriginRead {
  /**
   * True when this response depends on something invalidated a moment ago: the write behind it
   * may not have reached the nearest replica yet, so the loader must read the primary, or it
   * would put the old version back into every tier for a whole lifetime. Loads that depend on
   * nothing recently invalidated read the replica (far from the primary, that saves a round trip).
   */
  afterWrite: boolean;
}

/** One cached lookup: the route's key and a loader that reads the origin through db/. */
export interface CacheLookup {
  kind: CacheKind;
  key: string;
  load: (read: OriginRead) => Promise<CacheValue>;
}

export interface CacheResult {
  entry: CacheEntry;
  source: CacheSource;
}

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
  /** Returns the cached response for `lookup.key`, loading it from the origin when needed. */
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

/** Invalidation events read per poll before falling back to the whole log. */
const POLL_WINDOW = 16;

/** Waits between retries of an invalidation event that did not reach Redis (about 5 s in all). */
const INVALIDATION_RETRY_DELAYS_MS = [100, 200, 400, 800, 1600, 2000];

/** Local invalidation epochs kept before the oldest are forgotten (then loads are refused). */
const MAX_TRACKED_TAGS = 50_000;

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
  const random = options.random ?? Math.random;
  const metrics = options.metrics ?? new CacheMetrics();
  const nodeId = options.nodeId ?? crypto.randomUUID();
  const lru = new ByteLru<CacheEntry>(config.l0MaxBytes);
  const guardOptions = { budgetMs: config.tierBudgetMs, logger, metrics };
  const kvGuard = new TierGuard("kv", guardOptions);
  const redisBudgetMs = config.redisBudgetMs ?? config.tierBudgetMs;
  const redisGuard = new TierGuard("redis", { ...guardOptions, budgetMs: redisBudgetMs });
  const opened = options.kv
    ? await kvGuard.run(() => KvTier.open(options.kv!), undefined)
    : undefined;
  const kvTier = opened?.tier;
  const redisTier = options.redis ? new RedisTier(options.redis, nodeId) : undefined;
  // L2 on the request path (reads, fills, leases). Outside Redis's region a round trip to it
  // costs more than this region's replica, so a far node keeps Redis to invalidation events.
  const sharedTier = config.redisInRegion === false ? undefined : redisTier;
  /** Last invalidation seq applied from the Redis log; undefined until the first poll. */
  let seenSeq = opened?.invalidationSeq;
  const tagTtlMs = Math.max(
    ...Object.values(config.kinds).map((w) =>
      w.freshMs * (1 + config.jitter) + w.staleWhileRevalidateMs + w.staleIfErrorMs
    ),
  ) + 60_000;

  const inflight = new Map<string, Promise<CacheResult>>();
  const revalidating = new Set<string>();
  const background = new Set<Promise<unknown>>();
  // Local invalidation epochs: a load that started before its tags were invalidated is not kept.
  let epoch = 0;
  let forgottenBefore = 0;
  let lastFlushAt = Number.NEGATIVE_INFINITY;
  const primaryReadsAfterWriteMs = options.primaryReadsAfterWriteMs ?? 10_000;
  const tagEpochs = new Map<string, number>();
  /** Tags whose L1 entries are being deleted, with how many deletions of each are running. */
  const deletingFromL1 = new Map<string, number>();
  /** When each tracked tag was last invalidated on this node (cache clock). */
  const tagInvalidatedAt = new Map<string, number>();
  const recentlyChanged = (tags: readonly string[]): boolean => {
    const since = now() - primaryReadsAfterWriteMs;
    return lastFlushAt > since ||
      tags.some((tag) => (tagInvalidatedAt.get(tag) ?? -Infinity) > since);
  };
  /** Reads the nearest replica, and the primary again when the result depends on a fresh write. */
  async function loadFresh(lookup: CacheLookup): Promise<CacheValue> {
    const afterFlush = lastFlushAt > now() - primaryReadsAfterWriteMs;
    const value = await lookup.load({ afterWrite: afterFlush });
    return !afterFlush && recentlyChanged(value.tags)
      ? await lookup.load({ afterWrite: true })
      : value;
  }

  metrics.gauge("l0_bytes", () => lru.bytes);
  metrics.gauge("l0_entries", () => lru.size);

  function track(work: Promise<unknown>): void {
    const tracked = work.catch((error) => {
      logger.debug("cache background work failed", errorFields(error));
    }).finally(() => background.delete(tracked));
    background.add(tracked);
  }

  const countHit = {
    L0: metrics.counter("hits", { tier: "L0" }),
    L1: metrics.counter("hits", { tier: "L1" }),
    L2: metrics.counter("hits", { tier: "L2" }),
  };
  function hit(entry: CacheEntry, source: "L0" | "L1" | "L2"): CacheResult {
    countHit[source]();
    return { entry, source };
  }

  function stale(entry: CacheEntry): CacheResult {
    metrics.inc("stale_served");
    return { entry, source: "STALE" };
  }

  function fillL0(key: string, entry: CacheEntry): void {
    lru.set(key, entry, { bytes: entryBytes(entry), tags: entry.tags });
  }

  function fillL1(key: string, entry: CacheEntry): void {
    if (!kvTier) return;
    track(kvGuard.run(() => kvTier.set(key, entry, entry.expiresAt - now()), "skipped"));
  }

  function invalidatedSince(tags: readonly string[], since: number): boolean {
    if (since < forgottenBefore) return true;
    return tags.some((tag) => (tagEpochs.get(tag) ?? 0) > since);
  }

  /** An entry read from a shared tier, unless its tags were invalidated while it was read. */
  function current(entry: CacheEntry | undefined, readSince: number): CacheEntry | undefined {
    return entry && !invalidatedSince(entry.tags, readSince) ? entry : undefined;
  }

  async function readL1(key: string): Promise<CacheEntry | undefined> {
    if (!kvTier) return undefined;
    const since = epoch;
    const entry = current(await kvGuard.run(() => kvTier.get(key), undefined), since);
    // Read while its tags' L1 entries were being deleted: it may be the old one, which L0 would
    // then serve for a whole fresh lifetime.
    return entry?.tags.some((tag) => deletingFromL1.has(tag)) ? undefined : entry;
  }

  async function readL2(key: string): Promise<CacheEntry | undefined> {
    if (!sharedTier) return undefined;
    const since = epoch;
    return current(await redisGuard.run(() => sharedTier.get(key), undefined), since);
  }

  /** Loads from the origin and stores in every tier unless an invalidation overtook the load. */
  async function loadOrigin(lookup: CacheLookup): Promise<CacheEntry> {
    const startEpoch = epoch;
    const startSeq = seenSeq ?? 0;
    metrics.inc("origin_fetches");
    let value: CacheValue;
    try {
      value = await loadFresh(lookup);
    } catch (error) {
      metrics.inc("origin_errors");
      throw error;
    }
    const entry = await createEntry(value, {
      kind: lookup.kind,
      windows: config.kinds[lookup.kind],
      now: now(),
      jitter: config.jitter,
      random: random(),
    });
    if (invalidatedSince(entry.tags, startEpoch)) return entry;
    fillL0(lookup.key, entry);
    fillL1(lookup.key, entry);
    if (sharedTier) {
      track(redisGuard.run(
        () =>
          sharedTier.set(lookup.key, entry, {
            ttlMs: entry.expiresAt - now(),
            tagTtlMs,
            seenSeq: startSeq,
          }),
        false,
      ));
    }
    return entry;
  }

  /** A miss: take the lease, or wait briefly for the node holding it to fill L2. */
  async function loadWithLease(lookup: CacheLookup): Promise<CacheResult> {
    if (!sharedTier) return { entry: await loadOrigin(lookup), source: "MISS" };
    const leased = await redisGuard.run(
      () => sharedTier.acquireLease(lookup.key, config.leaseMs),
      true,
    );
    if (!leased) {
      metrics.inc("lease_waits");
      const deadline = performance.now() + config.leaseWaitMs;
      while (performance.now() < deadline && !redisGuard.down) {
        await delay(Math.min(20, config.leaseWaitMs));
        const filled = await readL2(lookup.key);
        if (filled && now() < filled.freshUntil) {
          fillL0(lookup.key, filled);
          fillL1(lookup.key, filled);
          return hit(filled, "L2");
        }
      }
    }
    try {
      return { entry: await loadOrigin(lookup), source: "MISS" };
    } finally {
      if (leased) track(redisGuard.run(() => sharedTier.releaseLease(lookup.key), undefined));
    }
  }

  /** Refreshes a stale key in the background, once per node; across nodes, once per lease. */
  function revalidate(lookup: CacheLookup): void {
    if (revalidating.has(lookup.key)) return;
    revalidating.add(lookup.key);
    metrics.inc("revalidations");
    track((async () => {
      try {
        const shared = await readL2(lookup.key);
        if (shared && now() < shared.freshUntil) {
          fillL0(lookup.key, shared);
          fillL1(lookup.key, shared);
          return;
        }
        const leased = sharedTier
          ? await redisGuard.run(() => sharedTier.acquireLease(lookup.key, config.leaseMs), true)
          : true;
        // Another node is refreshing it: keep serving stale, its result reaches L2.
        if (!leased) return;
        try {
          await loadOrigin(lookup);
        } finally {
          if (sharedTier) {
            await redisGuard.run(() => sharedTier.releaseLease(lookup.key), undefined);
          }
        }
      } finally {
        revalidating.delete(lookup.key);
      }
    })());
  }

  /** Below L0: L1, then L2, then stale candidates, then the origin. Runs once per key at a time. */
  async function resolve(lookup: CacheLookup, l0?: CacheEntry): Promise<CacheResult> {
    const l1 = await readL1(lookup.key);
    if (l1 && now() < l1.freshUntil) {
      fillL0(lookup.key, l1);
      return hit(l1, "L1");
    }
    const l2 = await readL2(lookup.key);
    if (l2 && now() < l2.freshUntil) {
      fillL0(lookup.key, l2);
      fillL1(lookup.key, l2);
      return hit(l2, "L2");
    }
    let candidate: CacheEntry | undefined;
    for (const entry of [l0, l1, l2]) {
      if (entry && now() < entry.expiresAt && entry.freshUntil > (candidate?.freshUntil ?? 0)) {
        candidate = entry;
      }
    }
    if (candidate && now() < candidate.staleUntil) {
      if (candidate !== l0) fillL0(lookup.key, candidate);
      revalidate(lookup);
      return stale(candidate);
    }
    metrics.inc("misses");
    try {
      return await loadWithLease(lookup);
    } catch (error) {
      // stale-if-error: an origin failure, not an answer such as 404 or a bad cursor.
      if (candidate && isOriginFailure(error)) return stale(candidate);
      throw error;
    }
  }

  /** Drops `tags` from every local tier; loads and L1 reads already running are refused. */
  async function applyInvalidation(tags: readonly string[]): Promise<void> {
    markInvalidated(tags);
    if (!kvTier) return;
    for (const tag of tags) deletingFromL1.set(tag, (deletingFromL1.get(tag) ?? 0) + 1);
    try {
      await kvGuard.run(() => Promise.all(tags.map((tag) => kvTier.deleteTag(tag))), []);
    } finally {
      for (const tag of tags) {
        const left = deletingFromL1.get(tag)! - 1;
        if (left > 0) deletingFromL1.set(tag, left);
        else deletingFromL1.delete(tag);
      }
    }
  }

  function markInvalidated(tags: readonly string[]): void {
    epoch++;
    const at = now();
    for (const tag of tags) {
      tagEpochs.set(tag, epoch);
      tagInvalidatedAt.set(tag, at);
      lru.deleteTag(tag);
    }
    if (tagEpochs.size > MAX_TRACKED_TAGS) {
      tagEpochs.clear();
      tagInvalidatedAt.clear();
      forgottenBefore = epoch;
      lastFlushAt = at;
    }
  }

  async function flushLocal(): Promise<void> {
    epoch++;
    lastFlushAt = now();
    forgottenBefore = epoch;
    tagEpochs.clear();
    tagInvalidatedAt.clear();
    lru.clear();
    if (kvTier) await kvGuard.run(() => kvTier.bumpGeneration(), undefined);
  }

  /**
   * The log's newest events: a short read usually covers all this node has not seen (one small
   * answer per poll, also from far regions); the whole log only when it does not.
   */
  async function readInvalidationLog(tier: RedisTier): Promise<InvalidationEvent[] | undefined> {
    const recent = await redisGuard.run(() => tier.recentInvalidations(POLL_WINDOW), undefined);
    const covered = !recent || recent.length < POLL_WINDOW || seenSeq === undefined ||
      (recent.at(-1)?.seq ?? 0) <= seenSeq + 1;
    if (covered) return recent;
    return await redisGuard.run(() => tier.recentInvalidations(INVALIDATION_LOG_LENGTH), undefined);
  }

  /**
   * Logs one invalidation event in Redis. Other nodes learn of a write only from it, so it is
   * tried even while the tier looks down (a slow poll a moment ago must not lose it).
   */
  async function publishInvalidation(tier: RedisTier, tags: string[]): Promise<boolean> {
    try {
      await withTimeout(tier.invalidate(tags), redisBudgetMs, "cache invalidation");
      return true;
    } catch (error) {
      metrics.inc("tier_errors", { tier: "redis" });
      logger.debug("cache invalidation not logged", errorFields(error));
      return false;
    }
  }

  /** Retries a failed invalidation event with backoff until it lands, the node closes or 5 s pass. */
  async function retryInvalidation(tier: RedisTier, tags: string[]): Promise<void> {
    for (const wait of INVALIDATION_RETRY_DELAYS_MS) {
      await delay(wait);
      if (closed) return;
      if (await publishInvalidation(tier, tags)) {
        logger.info("cache invalidation reached the other nodes after a retry", { tags });
        return;
      }
    }
    logger.error("cache invalidation reached this node only", { tags });
  }

  async function pollInvalidations(): Promise<void> {
    if (!redisTier) return;
    const events = await readInvalidationLog(redisTier);
    if (!events) return;
    const newest = events[0]?.seq ?? 0;
    if (seenSeq === undefined) {
      // A new node with empty local tiers: nothing to apply, start from here.
      seenSeq = newest;
    } else if (newest < seenSeq) {
      // Redis lost its data (restart, flush): local tiers may hold anything; start over.
      await flushLocal();
      seenSeq = newest;
    } else if (newest > seenSeq) {
      const oldest = events.at(-1)?.seq ?? 0;
      if (oldest > seenSeq + 1) {
        await flushLocal(); // fell behind the trimmed log
      } else {
        const pending = events.filter((event) => event.seq > seenSeq!).reverse();
        const tags = [...new Set(pending.flatMap((event) => event.tags))];
        metrics.inc("invalidation_events", undefined, pending.length);
        await applyInvalidation(tags);
      }
      seenSeq = newest;
    } else {
      return;
    }
    const seq = seenSeq;
    if (kvTier) await kvGuard.run(() => kvTier.saveInvalidationSeq(seq), undefined);
  }

  let closed = false;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let polling: Promise<void> | undefined;
  function schedulePoll(): void {
    if (closed || !redisTier) return;
    pollTimer = setTimeout(() => {
      polling = pollInvalidations().catch((error) => {
        logger.warn("cache invalidation poll failed", errorFields(error));
      }).finally(() => {
        polling = undefined;
        schedulePoll();
      });
    }, config.invalidationPollMs);
  }
  await pollInvalidations();
  schedulePoll();

  return {
    metrics,
    windows: (kind) => config.kinds[kind],
    pollInvalidations,
    peek: (key) => lru.get(key),
    async get(lookup) {
      if (lookup.key.length > MAX_CACHE_KEY_LENGTH) {
        metrics.inc("bypasses");
        metrics.inc("origin_fetches");
        const entry = await createEntry(await loadFresh(lookup), {
          kind: lookup.kind,
          windows: config.kinds[lookup.kind],
          now: now(),
          jitter: 0,
          random: 0.5,
        });
        return { entry, source: "BYPASS" };
      }
      const l0 = lru.get(lookup.key);
      const at = now();
      if (l0 && at < l0.freshUntil) return hit(l0, "L0");
      if (l0 && at < l0.staleUntil) {
        revalidate(lookup);
        return stale(l0);
      }
      const running = inflight.get(lookup.key);
      if (running) {
        metrics.inc("coalesced_waits");
        return await running;
      }
      const leader = resolve(lookup, l0).finally(() => inflight.delete(lookup.key));
      inflight.set(lookup.key, leader);
      return await leader;
    },
    async invalidate(tags) {
      const unique = [...new Set(tags)];
      if (unique.length === 0) return;
      metrics.inc("invalidations", undefined, unique.length);
      await applyInvalidation(unique);
      if (redisTier && !await publishInvalidation(redisTier, unique)) {
        logger.warn("cache invalidation reached this node only, retrying", { tags: unique });
        track(retryInvalidation(redisTier, unique));
      }
    },
    async settled() {
      while (background.size > 0) await Promise.all([...background]);
    },
    async close() {
      closed = true;
      clearTimeout(pollTimer);
      await polling;
      while (background.size > 0) await Promise.all([...background]);
    },
  };
}

/** True for failures worth hiding behind stale content; false for answers like 404. */
function isOriginFailure(error: unknown): boolean {
  // AppErrors (also when wrapped) and Hono's HTTPException both carry a status.
  const status = findAppError(error)?.status ?? (error as { status?: unknown } | null)?.status;
  return typeof status === "number" ? status >= 500 : true;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
