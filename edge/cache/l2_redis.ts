/**
 * L2: Upstash Redis shared by every edge node. Writes and invalidations are Lua scripts so a
 * write cannot slip between an invalidation's read of a tag set and its deletes, and so data
 * loaded before an invalidation is refused afterwards.
 */
import type { Redis } from "@upstash/redis";
import type { CacheEntry } from "./entry.ts";
import { isCacheEntry } from "./entry.ts";
import type { InvalidationEvent } from "./invalidation.ts";
import { redisCacheKeys } from "../keys.ts";

/** Invalidation events kept for polling nodes; a node further behind flushes its local tiers. */
export const INVALIDATION_LOG_LENGTH = 512;

// KEYS: entry, tagSeqs, order, orderSeq, entryTags.
// ARGV: seenSeq, entryJson, ttlMs, tagTtlMs, key, maxEntries, tags...
// Refuses data loaded before one of its tags was invalidated; then stores it, indexes it under
// its tags and in the write order, and evicts the oldest writes past `maxEntries`.
const STORE_SCRIPT = `
local seen = tonumber(ARGV[1])
for i = 7, #ARGV do
  local s = redis.call('HGET', KEYS[2], ARGV[i])
  if s and tonumber(s) > seen then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
local tags = {}
for i = 7, #ARGV do
  local t = '${redisCacheKeys.tagPrefix}' .. ARGV[i]
  redis.call('SADD', t, ARGV[5])
  redis.call('PEXPIRE', t, ARGV[4])
  tags[#tags + 1] = ARGV[i]
end
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[5])
redis.call('HSET', KEYS[5], ARGV[5], cjson.encode(tags))
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[3], excess)
  for i = 1, #oldest, 2 do
    local key = oldest[i]
    local tagsJson = redis.call('HGET', KEYS[5], key)
    if tagsJson then
      for _, tag in ipairs(cjson.decode(tagsJson)) do
        redis.call('SREM', '${redisCacheKeys.tagPrefix}' .. tag, key)
      end
      redis.call('HDEL', KEYS[5], key)
    end
    redis.call('DEL', '${redisCacheKeys.entryPrefix}' .. key)
  end
end
return 1`;

// KEYS: seq, log, tagSeqs. ARGV: logLength, tags...
const INVALIDATE_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
local deleted = 0
local tags = {}
for i = 2, #ARGV do
  local tag = ARGV[i]
  tags[#tags + 1] = tag
  redis.call('HSET', KEYS[3], tag, seq)
  local t = '${redisCacheKeys.tagPrefix}' .. tag
  for _, key in ipairs(redis.call('SMEMBERS', t)) do
    deleted = deleted + redis.call('DEL', '${redisCacheKeys.entryPrefix}' .. key)
  end
  redis.call('DEL', t)
end
redis.call('LPUSH', KEYS[2], cjson.encode({ seq = seq, tags = tags }))
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[1]) - 1)
return { seq, deleted }`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The L2 tier over the shared Upstash client. Bounded in size: entries expire with their
 * stale-if-error window, and at most `maxEntries` are kept (the oldest writes are evicted).
 */
export class RedisTier {
  #redis: Redis;
  readonly nodeId: string;
  readonly maxEntries: number;

  constructor(redis: Redis, options: { nodeId: string; maxEntries: number }) {
    this.#redis = redis;
    this.nodeId = options.nodeId;
    this.maxEntries = options.maxEntries;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const value = await this.#redis.get<unknown>(redisCacheKeys.entry(key));
    return isCacheEntry(value) ? value : undefined;
  }

  /**
   * Stores the entry and adds its key to each tag's set, unless one of its tags was invalidated
   * after invalidation `seenSeq` (the data may predate that change). Returns whether it stored.
   */
  async set(
    key: string,
    entry: CacheEntry,
    options: { ttlMs: number; tagTtlMs: number; seenSeq: number },
  ): Promise<boolean> {
    const stored = await this.#redis.eval<(string | number)[], number>(
      STORE_SCRIPT,
      [
        redisCacheKeys.entry(key),
        redisCacheKeys.tagSeqs,
        redisCacheKeys.entryOrder,
        redisCacheKeys.entryOrderSeq,
        redisCacheKeys.entryTags,
      ],
      [
        options.seenSeq,
        JSON.stringify(entry),
        Math.max(1000, Math.round(options.ttlMs)),
        Math.round(options.tagTtlMs),
        key,
        this.maxEntries,
        ...entry.tags,
      ],
    );
    return stored === 1;
  }

  /** Deletes every L2 entry of `tags` (SMEMBERS of exact tag sets) and logs one event. */
  async invalidate(tags: string[]): Promise<{ seq: number; deleted: number }> {
    const [seq, deleted] = await this.#redis.eval<(string | number)[], [number, number]>(
      INVALIDATE_SCRIPT,
      [redisCacheKeys.invalidationSeq, redisCacheKeys.invalidationLog, redisCacheKeys.tagSeqs],
      [INVALIDATION_LOG_LENGTH, ...tags],
    );
    return { seq, deleted };
  }

  /** The newest `count` invalidation events, newest first. */
  async recentInvalidations(count: number): Promise<InvalidationEvent[]> {
    const items = await this.#redis.lrange<unknown>(redisCacheKeys.invalidationLog, 0, count - 1);
    return items.map((item) => typeof item === "string" ? JSON.parse(item) : item)
      .filter((item): item is InvalidationEvent =>
        typeof item?.seq === "number" && Array.isArray(item.tags)
      );
  }

  /** Takes the revalidation lease for `key` (SET NX PX); false when another node holds it. */
  async acquireLease(key: string, ttlMs: number): Promise<boolean> {
    const result = await this.#redis.set(redisCacheKeys.lease(key), this.nodeId, {
      nx: true,
      px: ttlMs,
    });
    return result === "OK";
  }

  /** Releases the lease if this node still holds it. */
  async releaseLease(key: string): Promise<void> {
    await this.#redis.eval(RELEASE_SCRIPT, [redisCacheKeys.lease(key)], [this.nodeId]);
  }
}
