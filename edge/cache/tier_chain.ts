/**
 * The tier chain L0 (in-process LRU) → L1 (Deno KV) → L2 (Redis). A read stops at the first
 * fresh entry and copies it into every faster tier; an origin result is written to every tier.
 * KV and Redis calls go through their guards, so a slow or dead tier is skipped, never an error;
 * writes below L0 run in the background.
 */
import type { BackgroundWork } from "./background.ts";
import { type CacheEntry, entryBytes } from "./entry.ts";
import type { LocalTiers } from "./invalidation.ts";
import type { KvTier } from "./l1_kv.ts";
import type { RedisTier } from "./l2_redis.ts";
import { ByteLru } from "./lru.ts";
import type { CacheMetrics } from "./metrics.ts";
import type { TierGuard } from "./tier_guard.ts";

/** The tiers, fastest first. */
export type TierName = "L0" | "L1" | "L2";
/** The tiers below L0 (another process or machine holds them). */
export type LowerTierName = "L1" | "L2";

const TIERS: readonly TierName[] = ["L0", "L1", "L2"];
const LOWER_TIERS: readonly LowerTierName[] = ["L1", "L2"];

/**
 * Background writes one lower tier may have in flight. When a tier answers slower than misses
 * arrive, further fills are skipped rather than queued: the queue would grow without bound in
 * memory, and reads would wait behind it.
 */
export const MAX_PENDING_FILLS = 32;

/** What the lower tiers hold for a key: the first fresh entry, and any non-fresh ones before it. */
export interface LowerRead {
  hit?: { entry: CacheEntry; source: LowerTierName };
  /** Entries found that were no longer fresh (candidates for stale serving). */
  stale: CacheEntry[];
}

export interface TierChainOptions {
  l0MaxBytes: number;
  /** L1; omitted, the chain has no L1. */
  kv?: { tier: KvTier; guard: TierGuard };
  /** L2; omitted, the chain has no L2. `tagTtlMs` is how long a tag's key set outlives writes. */
  redis?: { tier: RedisTier; guard: TierGuard; tagTtlMs: number };
  /** The cache clock (ms). */
  now: () => number;
  background: BackgroundWork;
  metrics: CacheMetrics;
}

/** Reads and fills L0 → L1 → L2, and drops tags or everything from the local tiers. */
export class TierChain implements LocalTiers {
  readonly #l0: ByteLru<CacheEntry>;
  readonly #kv: TierChainOptions["kv"];
  readonly #redis: TierChainOptions["redis"];
  readonly #now: () => number;
  readonly #background: BackgroundWork;
  readonly #metrics: CacheMetrics;
  readonly #pendingFills = { L1: 0, L2: 0 };
  /** Tags whose L1 entries are being deleted, with how many deletions of each are running. */
  readonly #deletingFromL1 = new Map<string, number>();
  #purging = false;

  constructor(options: TierChainOptions) {
    this.#l0 = new ByteLru(options.l0MaxBytes);
    this.#kv = options.kv;
    this.#redis = options.redis;
    this.#now = options.now;
    this.#background = options.background;
    this.#metrics = options.metrics;
    this.#purgeOtherKvGenerations();
  }

  /** Bytes and entries held in L0, and keys written to L1's current generation (for gauges). */
  get sizes(): { l0Bytes: number; l0Entries: number; l1Entries: number } {
    return {
      l0Bytes: this.#l0.bytes,
      l0Entries: this.#l0.size,
      l1Entries: this.#kv?.tier.entries ?? 0,
    };
  }

  /** The L0 entry of `key` (marked recently used). */
  peek(key: string): CacheEntry | undefined {
    return this.#l0.get(key);
  }

  /**
   * Reads `tiers` in order; the first fresh entry is copied into every faster tier and returned
   * as the hit. Entries found before it that are no longer fresh come back as stale candidates.
   * An entry `current` refuses (its tags were invalidated while it was read) counts as absent.
   */
  async readLower(
    key: string,
    options: { tiers?: readonly LowerTierName[]; current?: (entry: CacheEntry) => boolean } = {},
  ): Promise<LowerRead> {
    const stale: CacheEntry[] = [];
    for (const tier of options.tiers ?? LOWER_TIERS) {
      const entry = await this.#read(tier, key);
      if (!entry || (options.current && !options.current(entry))) continue;
      if (this.#now() < entry.freshUntil) {
        this.#fillAbove(tier, key, entry);
        return { hit: { entry, source: tier }, stale };
      }
      stale.push(entry);
    }
    return { stale };
  }

  /** Puts an entry found in a lower tier into L0 (to serve it stale from there). */
  fillL0(key: string, entry: CacheEntry): void {
    this.#write("L0", key, entry, 0);
  }

  /**
   * Stores an origin result in every tier. `seenSeq` is the invalidation log position when the
   * load started (L2 refuses the entry if one of its tags was invalidated since). A cached "not
   * found" stays in L0: the slugs are chosen by clients, and a flood of them must not cost a KV
   * and a Redis write each.
   */
  store(key: string, entry: CacheEntry, seenSeq: number): void {
    if (entry.notFound !== undefined) this.#write("L0", key, entry, seenSeq);
    else this.#fillAbove("origin", key, entry, seenSeq);
  }

  /** Deletes every L0 entry (at once) and L1 entry carrying one of `tags`. */
  async dropTags(tags: readonly string[]): Promise<void> {
    for (const tag of tags) this.#l0.deleteTag(tag);
    const kv = this.#kv;
    if (!kv) return;
    const deleting = this.#deletingFromL1;
    for (const tag of tags) deleting.set(tag, (deleting.get(tag) ?? 0) + 1);
    try {
      await kv.guard.run(() => Promise.all(tags.map((tag) => kv.tier.deleteTag(tag))), []);
    } finally {
      for (const tag of tags) {
        const left = deleting.get(tag)! - 1;
        if (left > 0) deleting.set(tag, left);
        else deleting.delete(tag);
      }
    }
  }

  /** Drops every L0 and L1 entry (L1 by starting a new generation). */
  async flush(): Promise<void> {
    this.#l0.clear();
    const kv = this.#kv;
    if (!kv) return;
    await kv.guard.run(() => kv.tier.bumpGeneration(), undefined);
    this.#purgeOtherKvGenerations();
  }

  /** Persists the invalidation log position in L1, so a restarted node knows what it missed. */
  async saveInvalidationSeq(seq: number): Promise<void> {
    const kv = this.#kv;
    if (kv) await kv.guard.run(() => kv.tier.saveInvalidationSeq(seq), undefined);
  }

  async #read(tier: LowerTierName, key: string): Promise<CacheEntry | undefined> {
    if (tier === "L1") {
      const kv = this.#kv;
      const entry = kv ? await kv.guard.run(() => kv.tier.get(key), undefined) : undefined;
      // Read while its tags' L1 entries were being deleted: it may be the old one, which L0
      // would then serve for a whole fresh lifetime.
      return entry?.tags.some((tag) => this.#deletingFromL1.has(tag)) ? undefined : entry;
    }
    const redis = this.#redis;
    return redis ? await redis.guard.run(() => redis.tier.get(key), undefined) : undefined;
  }

  /** Writes `entry` into every tier faster than `source` (all of them for an origin result). */
  #fillAbove(source: TierName | "origin", key: string, entry: CacheEntry, seenSeq = 0): void {
    const end = source === "origin" ? TIERS.length : TIERS.indexOf(source);
    for (const tier of TIERS.slice(0, end)) this.#write(tier, key, entry, seenSeq);
  }

  #write(tier: TierName, key: string, entry: CacheEntry, seenSeq: number): void {
    const ttlMs = entry.expiresAt - this.#now();
    if (tier === "L0") {
      this.#l0.set(key, entry, { bytes: entryBytes(entry), tags: entry.tags });
    } else if (tier === "L1" && this.#kv) {
      const { tier: kv, guard } = this.#kv;
      this.#fill("L1", async () => {
        await guard.run(() => kv.set(key, entry, ttlMs), "skipped");
        if (kv.hasOtherGenerations) this.#purgeOtherKvGenerations();
      });
    } else if (tier === "L2" && this.#redis) {
      const { tier: redis, guard, tagTtlMs } = this.#redis;
      this.#fill(
        "L2",
        () => guard.run(() => redis.set(key, entry, { ttlMs, tagTtlMs, seenSeq }), false),
      );
    }
  }

  /** Runs one background fill of a lower tier, or skips it when too many are in flight. */
  #fill(tier: LowerTierName, write: () => Promise<unknown>): void {
    if (this.#pendingFills[tier] >= MAX_PENDING_FILLS) {
      this.#metrics.inc("fills_skipped", { tier });
      return;
    }
    this.#pendingFills[tier]++;
    this.#background.track(write().finally(() => this.#pendingFills[tier]--));
  }

  /** Deletes L1 keys of old generations in the background, one purge at a time. */
  #purgeOtherKvGenerations(): void {
    const kv = this.#kv?.tier;
    if (!kv || this.#purging) return;
    this.#purging = true;
    this.#background.track(kv.purgeOtherGenerations().finally(() => this.#purging = false));
  }
}
