/**
 * The read path of the cache: answer from L0, else from L1/L2, else serve stale while
 * revalidating, else load from the origin once per node (singleflight) and once across nodes
 * (the Redis lease), standing in with stale content when the origin fails (stale-if-error).
 * A "not found" from the origin is cached briefly and answered again as the same 404.
 */
import { HTTPException } from "hono/http-exception";
import type { CacheConfig, CacheKind } from "../platform/config.ts";
import { findAppError, NotFoundError } from "../platform/errors.ts";
import type { BackgroundWork } from "./background.ts";
import { boundedKey } from "./cache_key.ts";
import {
  boundedTags,
  type CacheEntry,
  type CacheValue,
  createEntry,
  createNotFoundEntry,
  type NotFound,
} from "./entry.ts";
import type { InvalidationTracker } from "./invalidation.ts";
import type { Leases } from "./leases.ts";
import type { CacheMetrics } from "./metrics.ts";
import type { TierChain } from "./tier_chain.ts";

/** Which tier answered: a fresh hit in L0/L1/L2, the origin (MISS), or a stale entry. */
export type CacheSource = "L0" | "L1" | "L2" | "MISS" | "STALE";

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
  /** Any length: long keys are stored under a digest. */
  key: string;
  /** Reads the origin; a 404 (`NotFoundError`, or an `HTTPException` 404) is cached briefly. */
  load: (read: OriginRead) => Promise<CacheValue>;
  /** Tags of a cached 404: what would make the missing thing appear (e.g. its slug). */
  notFoundTags?: string[];
}

export interface CacheResult {
  entry: CacheEntry;
  source: CacheSource;
}

export interface ReadThroughOptions {
  config: CacheConfig;
  chain: TierChain;
  /** The cross-node lease; omitted (no Redis), each node loads for itself. */
  leases?: Leases;
  tracker: InvalidationTracker;
  background: BackgroundWork;
  metrics: CacheMetrics;
  /** The cache clock (ms). */
  now: () => number;
  /** Jitter source in [0, 1). */
  random: () => number;
}

/** Gets entries through the tiers and the origin; see the module comment. */
export class ReadThrough {
  readonly #o: ReadThroughOptions;
  readonly #inflight = new Map<string, Promise<CacheResult>>();
  readonly #revalidating = new Set<string>();
  readonly #countHit: Record<"L0" | "L1" | "L2", () => void>;

  constructor(options: ReadThroughOptions) {
    this.#o = options;
    const { metrics } = options;
    this.#countHit = {
      L0: metrics.counter("hits", { tier: "L0" }),
      L1: metrics.counter("hits", { tier: "L1" }),
      L2: metrics.counter("hits", { tier: "L2" }),
    };
  }

  /** The cached response of `lookup.key`, loading it when needed; a cached 404 throws again. */
  async get(lookup: CacheLookup): Promise<CacheResult> {
    const key = boundedKey(lookup.key);
    const l0 = this.#o.chain.peek(key);
    const at = this.#o.now();
    let result: CacheResult;
    if (l0 && at < l0.freshUntil) {
      result = this.#hit(l0, "L0");
    } else if (l0 && at < l0.staleUntil) {
      this.#revalidate(lookup, key);
      result = this.#stale(l0);
    } else {
      result = await this.#resolveOnce(lookup, key, l0);
    }
    if (result.entry.notFound) throw notFoundError(result.entry.notFound);
    return result;
  }

  /** Singleflight: concurrent lookups of one key on this node share one resolution. */
  async #resolveOnce(lookup: CacheLookup, key: string, l0?: CacheEntry): Promise<CacheResult> {
    const running = this.#inflight.get(key);
    if (running) {
      this.#o.metrics.inc("coalesced_waits");
      return await running;
    }
    const leader = this.#resolve(lookup, key, l0).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, leader);
    return await leader;
  }

  /** Below L0: L1, then L2, then stale candidates, then the origin. */
  async #resolve(lookup: CacheLookup, key: string, l0?: CacheEntry): Promise<CacheResult> {
    const { chain, now, metrics } = this.#o;
    const lower = await chain.readLower(key, { current: this.#currentSince() });
    if (lower.hit) return this.#hit(lower.hit.entry, lower.hit.source);
    let candidate: CacheEntry | undefined;
    for (const entry of [l0, ...lower.stale]) {
      if (entry && now() < entry.expiresAt && entry.freshUntil > (candidate?.freshUntil ?? 0)) {
        candidate = entry;
      }
    }
    if (candidate && now() < candidate.staleUntil) {
      if (candidate !== l0) chain.fillL0(key, candidate);
      this.#revalidate(lookup, key);
      return this.#stale(candidate);
    }
    metrics.inc("misses");
    try {
      return await this.#loadWithLease(lookup, key);
    } catch (error) {
      // stale-if-error: an origin failure, not an answer such as a bad cursor.
      if (candidate && clientErrorStatus(error) === undefined) return this.#stale(candidate);
      throw error;
    }
  }

  /** A miss: take the lease, or wait briefly for the node holding it to fill L2. */
  async #loadWithLease(lookup: CacheLookup, key: string): Promise<CacheResult> {
    const leases = this.#o.leases;
    const leased = leases ? await leases.acquire(key) : true;
    if (!leased) {
      const filled = await this.#waitForLeaseHolder(key);
      if (filled) return filled;
    }
    try {
      return { entry: await this.#loadOrigin(lookup, key), source: "MISS" };
    } finally {
      if (leases && leased) this.#o.background.track(leases.release(key));
    }
  }

  /** Polls L2 until the lease holder's entry arrives, for at most `leaseWaitMs`. */
  async #waitForLeaseHolder(key: string): Promise<CacheResult | undefined> {
    const { config, chain, metrics, leases } = this.#o;
    metrics.inc("lease_waits");
    const deadline = performance.now() + config.leaseWaitMs;
    while (performance.now() < deadline && !leases?.down) {
      await delay(Math.min(20, config.leaseWaitMs));
      const { hit } = await chain.readLower(key, { tiers: ["L2"], current: this.#currentSince() });
      if (hit) return this.#hit(hit.entry, hit.source);
    }
    return undefined;
  }

  /** Refreshes a stale key in the background, once per node; across nodes, once per lease. */
  #revalidate(lookup: CacheLookup, key: string): void {
    if (this.#revalidating.has(key)) return;
    this.#revalidating.add(key);
    this.#o.metrics.inc("revalidations");
    this.#o.background.track(
      this.#refresh(lookup, key).finally(() => this.#revalidating.delete(key)),
    );
  }

  async #refresh(lookup: CacheLookup, key: string): Promise<void> {
    const { hit } = await this.#o.chain.readLower(key, {
      tiers: ["L2"],
      current: this.#currentSince(),
    });
    if (hit) return;
    const leases = this.#o.leases;
    // Another node holding the lease is refreshing it: keep serving stale, its result reaches L2.
    if (leases && !await leases.acquire(key)) return;
    try {
      await this.#loadOrigin(lookup, key);
    } finally {
      await leases?.release(key);
    }
  }

  /** Loads from the origin and stores in every tier unless an invalidation overtook the load. */
  async #loadOrigin(lookup: CacheLookup, key: string): Promise<CacheEntry> {
    const { tracker, chain } = this.#o;
    const stamp = tracker.startLoad();
    this.#o.metrics.inc("origin_fetches");
    const entry = await this.#fetchEntry(lookup);
    if (!tracker.overtook(stamp, entry.tags)) chain.store(key, entry, stamp.seq);
    return entry;
  }

  /** Calls the loader: its value, or a negative entry for a 404; other errors are thrown. */
  async #fetchEntry(lookup: CacheLookup): Promise<CacheEntry> {
    const { config, now, metrics } = this.#o;
    let value: CacheValue;
    try {
      value = await this.#loadFresh(lookup);
    } catch (error) {
      const status = clientErrorStatus(error);
      if (status === undefined) metrics.inc("origin_errors");
      if (status !== 404) throw error;
      return createNotFoundEntry(notFoundOf(error), {
        kind: lookup.kind,
        tags: lookup.notFoundTags ?? [],
        now: now(),
        ttlMs: config.notFoundTtlMs,
      });
    }
    return await createEntry(value, {
      kind: lookup.kind,
      windows: config.kinds[lookup.kind],
      now: now(),
      jitter: config.jitter,
      random: this.#o.random(),
    });
  }

  /**
   * Reads the nearest replica, and the primary again when the answer depends on a fresh write:
   * its tags (or, for a 404, what would make the missing thing appear) changed a moment ago.
   */
  async #loadFresh(lookup: CacheLookup): Promise<CacheValue> {
    const { tracker } = this.#o;
    const afterFlush = tracker.readsPrimaryForAll();
    const fromPrimary = () => lookup.load({ afterWrite: true });
    let value: CacheValue;
    try {
      value = await lookup.load({ afterWrite: afterFlush });
    } catch (error) {
      const missing = clientErrorStatus(error) === 404 && !afterFlush &&
        tracker.recentlyChanged(boundedTags(lookup.notFoundTags ?? []));
      if (missing) return await fromPrimary();
      throw error;
    }
    return !afterFlush && tracker.recentlyChanged(boundedTags(value.tags))
      ? await fromPrimary()
      : value;
  }

  /** Accepts an entry read from a lower tier unless its tags were invalidated during the read. */
  #currentSince(): (entry: CacheEntry) => boolean {
    const stamp = this.#o.tracker.startLoad();
    return (entry) => !this.#o.tracker.overtook(stamp, entry.tags);
  }

  #hit(entry: CacheEntry, source: "L0" | "L1" | "L2"): CacheResult {
    this.#countHit[source]();
    return { entry, source };
  }

  #stale(entry: CacheEntry): CacheResult {
    this.#o.metrics.inc("stale_served");
    return { entry, source: "STALE" };
  }
}

/**
 * The status of an error that is the client's answer rather than an origin failure: an
 * `AppError` (also inside a `cause` chain) or an `HTTPException` below 500. `undefined` for
 * failures worth hiding behind stale content and counting as origin errors.
 */
export function clientErrorStatus(error: unknown): number | undefined {
  const status = findAppError(error)?.status ??
    (error instanceof HTTPException ? error.status : undefined);
  return status !== undefined && status < 500 ? status : undefined;
}

/** What to keep of a 404 to throw it again (see `notFoundError`). */
function notFoundOf(error: unknown): NotFound {
  const known = findAppError(error);
  return known
    ? { message: known.message, httpException: false }
    : { message: (error as HTTPException).message, httpException: true };
}

/** The error a cached 404 is thrown as: the kind and the words the loader threw. */
function notFoundError(notFound: NotFound): Error {
  return notFound.httpException
    ? new HTTPException(404, { message: notFound.message })
    : new NotFoundError(notFound.message);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
