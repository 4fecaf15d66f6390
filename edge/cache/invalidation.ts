/**
 * The invalidation state of one node: local epochs (a load or a tier read overtaken by an
 * invalidation of its tags is not kept), which tags changed a moment ago (their loads must read
 * the primary), the position in the shared invalidation log, the poll that applies other nodes'
 * invalidations, and the publishing of this node's own. The log and the local tiers are reached
 * through two small interfaces and time through an injected clock, so the tracker can be tested
 * alone.
 */
import { errorFields, type Logger } from "../platform/log.ts";
import type { BackgroundWork } from "./background.ts";
import type { CacheMetrics } from "./metrics.ts";

/** One invalidation as read back from the shared log. */
export interface InvalidationEvent {
  seq: number;
  tags: string[];
}

/** The shared invalidation log (Redis); `undefined` or `false` when it cannot be reached. */
export interface InvalidationLog {
  /** The newest `count` events (all it keeps when omitted), newest first. */
  recent(count?: number): Promise<InvalidationEvent[] | undefined>;
  /** Appends one event for `tags`; false when it was not published. */
  publish(tags: string[]): Promise<boolean>;
}

/** What invalidations do to this node's own tiers (L0 and L1). */
export interface LocalTiers {
  /** Drops the tags' entries; L0 at once, before the first await. */
  dropTags(tags: readonly string[]): Promise<unknown>;
  /** Drops everything: used when this node cannot know what it missed. */
  flush(): Promise<void>;
  saveInvalidationSeq(seq: number): Promise<void>;
}

/** Where invalidations stood when a load or a tier read started. */
export interface LoadStamp {
  epoch: number;
  /** The last log sequence applied (0 when none). */
  seq: number;
}

export interface InvalidationTrackerOptions {
  tiers: LocalTiers;
  /** Omitted, invalidations stay on this node. */
  log?: InvalidationLog;
  /** The last sequence applied before a restart (persisted in L1); omitted for a new node. */
  seenSeq?: number;
  /** Clock in ms. */
  now: () => number;
  /** After an invalidation, loads of what it touched read the primary this long (replication lag). */
  primaryReadsAfterWriteMs: number;
  metrics: CacheMetrics;
  logger: Logger;
  /** Runs the retries of an invalidation event that did not reach the log. */
  background: BackgroundWork;
  /** Tags whose epochs are remembered before all are forgotten (then running loads are refused). */
  maxTrackedTags?: number;
  /** Waits between retries of an unpublished event (about 5 s in all). */
  retryDelaysMs?: readonly number[];
}

/** Events read per poll before falling back to the whole log. */
const POLL_WINDOW = 16;

interface PollLoop {
  timer?: ReturnType<typeof setTimeout>;
  running?: Promise<void>;
  stopped: boolean;
}

/** Local epochs, recent changes, the log position, the poll and publishing of one node. */
export class InvalidationTracker {
  readonly #options: Required<Omit<InvalidationTrackerOptions, "log" | "seenSeq">>;
  readonly #log: InvalidationLog | undefined;
  #seenSeq: number | undefined;
  #epoch = 0;
  /** Loads that started before this epoch are refused (epochs were forgotten). */
  #forgottenBefore = 0;
  readonly #tagEpochs = new Map<string, number>();
  /** When each tracked tag was last invalidated here (clock ms). */
  readonly #tagInvalidatedAt = new Map<string, number>();
  /** When this node last dropped or forgot everything: then every load reads the primary. */
  #lastFlushAt = Number.NEGATIVE_INFINITY;
  #polling: PollLoop = { stopped: true };
  #closed = false;

  constructor(options: InvalidationTrackerOptions) {
    this.#options = {
      maxTrackedTags: 50_000,
      retryDelaysMs: [100, 200, 400, 800, 1600, 2000],
      ...options,
    };
    this.#log = options.log;
    this.#seenSeq = options.seenSeq;
  }

  /** The last log sequence applied; undefined until the first poll of a new node. */
  get seenSeq(): number | undefined {
    return this.#seenSeq;
  }

  /** Marks the start of an origin load or a tier read. */
  startLoad(): LoadStamp {
    return { epoch: this.#epoch, seq: this.#seenSeq ?? 0 };
  }

  /** True when one of `tags` was invalidated after `stamp` was taken. */
  overtook(stamp: LoadStamp, tags: readonly string[]): boolean {
    if (stamp.epoch < this.#forgottenBefore) return true;
    return tags.some((tag) => (this.#tagEpochs.get(tag) ?? 0) > stamp.epoch);
  }

  /** True shortly after this node dropped everything: every load must read the primary. */
  readsPrimaryForAll(): boolean {
    return this.#lastFlushAt > this.#options.now() - this.#options.primaryReadsAfterWriteMs;
  }

  /**
   * True when something carrying one of `tags` changed a moment ago: the write may not have
   * reached the nearest replica yet, so a load of it must read the primary, or it would put the
   * old version back into every tier for a whole lifetime.
   */
  recentlyChanged(tags: readonly string[]): boolean {
    const since = this.#options.now() - this.#options.primaryReadsAfterWriteMs;
    return this.#lastFlushAt > since ||
      tags.some((tag) => (this.#tagInvalidatedAt.get(tag) ?? -Infinity) > since);
  }

  /**
   * Invalidates `tags` here and publishes them to the log. Other nodes learn of a write only
   * from the log, so an event that does not land is retried in the background (about 5 s).
   * Returns whether it landed at once.
   */
  async invalidate(tags: readonly string[]): Promise<boolean> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return true;
    this.#options.metrics.inc("invalidations", undefined, unique.length);
    await this.#apply(unique);
    const log = this.#log;
    if (!log || await log.publish(unique)) return true;
    this.#options.logger.warn("cache invalidation reached this node only, retrying", {
      tags: unique,
    });
    this.#options.background.track(this.#retryPublish(log, unique));
    return false;
  }

  /** Reads the log and applies what this node has not seen; flushes when it cannot know. */
  async poll(): Promise<void> {
    const events = await this.#readLog();
    if (!events) return;
    const newest = events[0]?.seq ?? 0;
    const seen = this.#seenSeq;
    if (seen === newest) return;
    if (seen === undefined) {
      // A new node with empty local tiers: nothing to apply, start from here.
    } else if (newest < seen) {
      await this.#flush(); // the log lost its data (restart, flush): local tiers may hold anything
    } else if ((events.at(-1)?.seq ?? 0) > seen + 1) {
      await this.#flush(); // fell behind the trimmed log
    } else {
      const pending = events.filter((event) => event.seq > seen);
      this.#options.metrics.inc("invalidation_events", undefined, pending.length);
      await this.#apply([...new Set(pending.reverse().flatMap((event) => event.tags))]);
    }
    this.#seenSeq = newest;
    await this.#options.tiers.saveInvalidationSeq(newest);
  }

  /** Polls every `intervalMs` until `close`; a failed poll is logged and retried. */
  startPolling(intervalMs: number): void {
    if (!this.#log || !this.#polling.stopped || this.#closed) return;
    const polling: PollLoop = { stopped: false };
    this.#polling = polling;
    const schedule = () => {
      if (polling.stopped) return;
      polling.timer = setTimeout(() => {
        polling.running = this.poll().catch((error) => {
          this.#options.logger.warn("cache invalidation poll failed", errorFields(error));
        }).finally(() => {
          polling.running = undefined;
          schedule();
        });
      }, intervalMs);
    };
    schedule();
  }

  /** Stops the poll loop and publishing retries, and waits for a poll in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    const polling = this.#polling;
    polling.stopped = true;
    clearTimeout(polling.timer);
    await polling.running;
  }

  /**
   * The log's newest events: a short read usually covers all this node has not seen (one small
   * answer per poll, also from far regions); the whole log only when it does not.
   */
  async #readLog(): Promise<InvalidationEvent[] | undefined> {
    if (!this.#log) return undefined;
    const recent = await this.#log.recent(POLL_WINDOW);
    const seen = this.#seenSeq;
    const covered = !recent || recent.length < POLL_WINDOW || seen === undefined ||
      (recent.at(-1)?.seq ?? 0) <= seen + 1;
    return covered ? recent : await this.#log.recent();
  }

  async #retryPublish(log: InvalidationLog, tags: string[]): Promise<void> {
    for (const wait of this.#options.retryDelaysMs) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.#closed) return;
      if (await log.publish(tags)) {
        this.#options.logger.info("cache invalidation reached the other nodes after a retry", {
          tags,
        });
        return;
      }
    }
    this.#options.logger.error("cache invalidation reached this node only", { tags });
  }

  async #apply(tags: readonly string[]): Promise<void> {
    this.#epoch++;
    const at = this.#options.now();
    for (const tag of tags) {
      this.#tagEpochs.set(tag, this.#epoch);
      this.#tagInvalidatedAt.set(tag, at);
    }
    if (this.#tagEpochs.size > this.#options.maxTrackedTags) this.#forget();
    await this.#options.tiers.dropTags(tags);
  }

  async #flush(): Promise<void> {
    this.#epoch++;
    this.#forget();
    await this.#options.tiers.flush();
  }

  /** Forgets every tag's epoch: loads that started before now are refused, all read the primary. */
  #forget(): void {
    this.#tagEpochs.clear();
    this.#tagInvalidatedAt.clear();
    this.#forgottenBefore = this.#epoch;
    this.#lastFlushAt = this.#options.now();
  }
}
