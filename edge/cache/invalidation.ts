/**
 * The invalidation state of one node: local epochs (a load overtaken by an invalidation of its
 * tags is not kept), its position in the shared invalidation log, and the poll that applies
 * other nodes' invalidations. The log and the local tiers are reached through two small
 * interfaces and time through an injected clock, so the tracker can be tested alone.
 */
import { errorFields, type Logger } from "../platform/log.ts";
import type { CacheMetrics } from "./metrics.ts";

/** One invalidation as read back from the shared log. */
export interface InvalidationEvent {
  seq: number;
  tags: string[];
}

/** The shared invalidation log (Redis); `undefined` or `false` when it cannot be reached. */
export interface InvalidationLog {
  /** The newest events, newest first. */
  recent(): Promise<InvalidationEvent[] | undefined>;
  /** Appends one event for `tags`; false when it was not published. */
  publish(tags: string[]): Promise<boolean>;
}

/** What invalidations do to this node's own tiers (L0 and L1). */
export interface LocalTiers {
  dropTags(tags: readonly string[]): Promise<unknown>;
  /** Drops everything: used when this node cannot know what it missed. */
  flush(): Promise<void>;
  saveInvalidationSeq(seq: number): Promise<void>;
}

/** Where invalidations stood when a load started. */
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
  /** After an invalidation, origin loads read the primary this long (the replication lag bound). */
  primaryReadsAfterWriteMs: number;
  metrics: CacheMetrics;
  /** Tags whose epochs are remembered before all are forgotten (then running loads are refused). */
  maxTrackedTags?: number;
}

interface PollLoop {
  timer?: ReturnType<typeof setTimeout>;
  running?: Promise<void>;
  stopped: boolean;
}

/** Local epochs, the log position and the poll of one node. */
export class InvalidationTracker {
  readonly #options: Required<Omit<InvalidationTrackerOptions, "log" | "seenSeq">>;
  readonly #log: InvalidationLog | undefined;
  #seenSeq: number | undefined;
  #epoch = 0;
  /** Loads that started before this epoch are refused (epochs were forgotten). */
  #forgottenBefore = 0;
  #lastInvalidationAt = Number.NEGATIVE_INFINITY;
  readonly #tagEpochs = new Map<string, number>();
  #polling: PollLoop = { stopped: true };

  constructor(options: InvalidationTrackerOptions) {
    this.#options = { maxTrackedTags: 50_000, ...options };
    this.#log = options.log;
    this.#seenSeq = options.seenSeq;
  }

  /** The last log sequence applied; undefined until the first poll of a new node. */
  get seenSeq(): number | undefined {
    return this.#seenSeq;
  }

  /** Marks the start of an origin load. */
  startLoad(): LoadStamp {
    return { epoch: this.#epoch, seq: this.#seenSeq ?? 0 };
  }

  /** True when one of `tags` was invalidated after the load stamped `stamp` started. */
  overtook(stamp: LoadStamp, tags: readonly string[]): boolean {
    if (stamp.epoch < this.#forgottenBefore) return true;
    return tags.some((tag) => (this.#tagEpochs.get(tag) ?? 0) > stamp.epoch);
  }

  /**
   * True shortly after this node applied an invalidation: the write behind it may not have
   * reached the nearest replica yet, so origin loads must read the primary.
   */
  readsPrimary(): boolean {
    return this.#options.now() - this.#lastInvalidationAt < this.#options.primaryReadsAfterWriteMs;
  }

  /** Invalidates `tags` here and publishes them to the log; false when they stayed local. */
  async invalidate(tags: readonly string[]): Promise<boolean> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return true;
    this.#options.metrics.inc("invalidations", undefined, unique.length);
    await this.#apply(unique);
    return this.#log ? await this.#log.publish(unique) : true;
  }

  /** Reads the log and applies what this node has not seen; flushes when it cannot know. */
  async poll(): Promise<void> {
    if (!this.#log) return;
    const events = await this.#log.recent();
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

  /** Polls every `intervalMs` until `stopPolling`; a failed poll is logged and retried. */
  startPolling(intervalMs: number, logger: Logger): void {
    if (!this.#log || !this.#polling.stopped) return;
    const polling: PollLoop = { stopped: false };
    this.#polling = polling;
    const schedule = () => {
      if (polling.stopped) return;
      polling.timer = setTimeout(() => {
        polling.running = this.poll().catch((error) => {
          logger.warn("cache invalidation poll failed", errorFields(error));
        }).finally(() => {
          polling.running = undefined;
          schedule();
        });
      }, intervalMs);
    };
    schedule();
  }

  /** Stops the poll loop and waits for a poll in progress. */
  async stopPolling(): Promise<void> {
    const polling = this.#polling;
    polling.stopped = true;
    clearTimeout(polling.timer);
    await polling.running;
  }

  async #apply(tags: readonly string[]): Promise<void> {
    this.#epoch++;
    this.#lastInvalidationAt = this.#options.now();
    for (const tag of tags) this.#tagEpochs.set(tag, this.#epoch);
    if (this.#tagEpochs.size > this.#options.maxTrackedTags) this.#forget();
    await this.#options.tiers.dropTags(tags);
  }

  async #flush(): Promise<void> {
    this.#epoch++;
    this.#lastInvalidationAt = this.#options.now();
    this.#forget();
    await this.#options.tiers.flush();
  }

  /** Forgets every tag's epoch; loads that started before now are refused instead. */
  #forget(): void {
    this.#tagEpochs.clear();
    this.#forgottenBefore = this.#epoch;
  }
}
