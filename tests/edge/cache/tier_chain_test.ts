import assert from "node:assert/strict";
import { BackgroundWork } from "../../../edge/cache/background.ts";
import { type CacheEntry, createEntry, createNotFoundEntry } from "../../../edge/cache/entry.ts";
import { KvTier } from "../../../edge/cache/l1_kv.ts";
import { RedisTier } from "../../../edge/cache/l2_redis.ts";
import { CacheMetrics } from "../../../edge/cache/metrics.ts";
import { MAX_PENDING_FILLS, TierChain } from "../../../edge/cache/tier_chain.ts";
import { TierGuard } from "../../../edge/cache/tier_guard.ts";
import { redisCacheKeys } from "../../../edge/keys.ts";
import { createLogger } from "../../../edge/platform/log.ts";
import { createClock, slowedKv, startSharedRedis, testCacheConfig } from "./cache_fixtures.ts";

const windows = testCacheConfig().kinds.product;

/** A chain over its own KV file and its own Redis, closed when the test's `await using` ends. */
async function openChain(
  options: { kvMaxEntries?: number; redisMaxEntries?: number; kvDelayMs?: number } = {},
) {
  const clock = createClock();
  const kvDir = await Deno.makeTempDir({ prefix: "tier-chain-kv-" });
  const realKv = await Deno.openKv(`${kvDir}/kv.sqlite`);
  const kv = options.kvDelayMs ? slowedKv(realKv, options.kvDelayMs) : realKv;
  const redis = await startSharedRedis();
  const logger = createLogger("error", { write: () => {} });
  const metrics = new CacheMetrics();
  const guards = {
    kv: new TierGuard("kv", { budgetMs: 5000, logger, metrics }),
    redis: new TierGuard("redis", { budgetMs: 5000, logger, metrics }),
  };
  const { tier: kvTier } = await KvTier.open(kv, { maxEntries: options.kvMaxEntries ?? 1000 });
  const redisTier = new RedisTier(redis.client(), {
    nodeId: "chain-test",
    maxEntries: options.redisMaxEntries ?? 1000,
  });
  const background = new BackgroundWork(logger);
  const chain = new TierChain({
    l0MaxBytes: 1 << 20,
    kv: { tier: kvTier, guard: guards.kv },
    redis: { tier: redisTier, guard: guards.redis, tagTtlMs: 60_000 },
    now: clock.now,
    background,
    metrics,
  });
  async function settled() {
    await background.settled();
    await Promise.all([guards.kv.idle(), guards.redis.idle()]);
  }
  return {
    chain,
    clock,
    kv,
    kvTier,
    redis,
    redisTier,
    settled,
    entry(body: string, tags: string[] = []): Promise<CacheEntry> {
      return createEntry({ body, contentType: "text/plain", tags }, {
        kind: "product",
        windows,
        now: clock.now(),
        jitter: 0,
        random: 0.5,
      });
    },
    /** Entry keys in KV, across every generation. */
    async kvEntryCount(): Promise<number> {
      let count = 0;
      for await (const item of kv.list({ prefix: ["cache"] })) if (item.key[2] === "e") count++;
      return count;
    },
    metrics,
    async [Symbol.asyncDispose]() {
      await settled();
      realKv.close();
      await redis.stop();
      await Deno.remove(kvDir, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test("[tier chain] a hit in L2 fills L1 and L0; a hit in L1 fills L0 only", async () => {
  await using t = await openChain();
  const shared = await t.entry("from L2");
  await t.redisTier.set("k2", shared, { ttlMs: 60_000, tagTtlMs: 60_000, seenSeq: 0 });
  const fromL2 = await t.chain.readLower("k2");
  assert.equal(fromL2.hit?.source, "L2");
  assert.equal(fromL2.hit?.entry.body, "from L2");
  await t.settled();
  assert.equal(t.chain.peek("k2")?.body, "from L2");
  assert.equal((await t.kvTier.get("k2"))?.body, "from L2");

  await t.kvTier.set("k1", await t.entry("from L1"), 60_000);
  const fromL1 = await t.chain.readLower("k1");
  assert.equal(fromL1.hit?.source, "L1");
  await t.settled();
  assert.equal(t.chain.peek("k1")?.body, "from L1");
  assert.equal(await t.redisTier.get("k1"), undefined, "a faster tier never fills a slower one");
});

Deno.test("[tier chain] entries past their fresh time come back as stale candidates", async () => {
  await using t = await openChain();
  await t.kvTier.set("k", await t.entry("old"), 10 * 60_000);
  t.clock.advance(windows.freshMs + 1);
  await t.redisTier.set("k", await t.entry("new"), { ttlMs: 60_000, tagTtlMs: 60_000, seenSeq: 0 });
  const read = await t.chain.readLower("k");
  assert.equal(read.hit?.entry.body, "new");
  assert.deepEqual(read.stale.map((entry) => entry.body), ["old"]);
  await t.settled();
  const onlyL1 = await t.chain.readLower("k", { tiers: ["L1"] });
  assert.equal(onlyL1.hit?.entry.body, "new", "L1 was refilled from L2");
});

Deno.test("[tier chain] an entry the caller no longer accepts counts as absent", async () => {
  await using t = await openChain();
  await t.kvTier.set("k", await t.entry("v1", ["product:1"]), 60_000);
  const refused = await t.chain.readLower("k", { current: () => false });
  assert.deepEqual([refused.hit, refused.stale], [undefined, []]);
  assert.equal(t.chain.peek("k"), undefined, "nor copied into L0");
});

Deno.test("[tier chain] an origin result goes to every tier; a cached 404 stays in L0", async () => {
  await using t = await openChain();
  t.chain.store("found", await t.entry("body", ["product:1"]), 0);
  const missing = createNotFoundEntry({ message: "Product not found", httpException: false }, {
    kind: "product",
    tags: ["slug:nope"],
    now: t.clock.now(),
    ttlMs: 30_000,
  });
  t.chain.store("missing", missing, 0);
  await t.settled();
  for (const read of [() => t.chain.peek("found"), () => t.kvTier.get("found")]) {
    assert.equal((await read())?.body, "body");
  }
  assert.equal((await t.redisTier.get("found"))?.body, "body");
  assert.equal(t.chain.peek("missing")?.notFound?.message, "Product not found");
  assert.equal(await t.kvTier.get("missing"), undefined);
  assert.equal(await t.redisTier.get("missing"), undefined);
});

Deno.test("[tier chain] dropTags and flush empty L0 and L1", async () => {
  await using t = await openChain();
  t.chain.store("a", await t.entry("a", ["tag:a"]), 0);
  t.chain.store("b", await t.entry("b", ["tag:b"]), 0);
  await t.settled();
  await t.chain.dropTags(["tag:a"]);
  assert.equal(t.chain.peek("a"), undefined);
  assert.equal(await t.kvTier.get("a"), undefined);
  assert.equal(t.chain.peek("b")?.body, "b");
  await t.chain.flush();
  await t.settled();
  assert.equal(t.chain.peek("b"), undefined);
  assert.equal(await t.kvTier.get("b"), undefined);
  assert.equal(await t.kvEntryCount(), 0, "the old generation was purged from disk");
});

Deno.test("[tier chain] L1 holds at most kvMaxEntries keys: a new generation starts and the old one is purged", async () => {
  await using t = await openChain({ kvMaxEntries: 10 });
  for (let i = 0; i < 35; i++) {
    t.chain.store(`unique:${i}`, await t.entry(`v${i}`, [`tag:${i % 3}`]), 0);
    await t.settled();
    assert.ok(await t.kvEntryCount() <= 10, `after ${i + 1} writes`);
  }
  assert.equal(t.kvTier.generation, 3);
  assert.equal((await t.kvTier.get("unique:34"))?.body, "v34");
  t.chain.store("unique:34", await t.entry("rewritten"), 0);
  await t.settled();
  assert.equal(t.kvTier.entries, 5, "a rewrite does not count again");
});

Deno.test("[tier chain] L2 holds at most redisMaxEntries entries and evicted keys leave their tag sets", async () => {
  await using t = await openChain({ redisMaxEntries: 10 });
  for (let i = 0; i < 30; i++) {
    t.chain.store(`unique:${i}`, await t.entry(`v${i}`, ["tag:shared", `tag:${i}`]), 0);
    // One write at a time: background fills run concurrently, so "newest" needs an order.
    await t.settled();
  }
  const client = t.redis.client();
  const entryKeys: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, { match: `${redisCacheKeys.entryPrefix}*` });
    cursor = String(next);
    entryKeys.push(...keys);
  } while (cursor !== "0");
  assert.equal(entryKeys.length, 10);
  assert.ok(entryKeys.includes(redisCacheKeys.entry("unique:29")), "the newest writes stay");
  assert.equal(await client.zcard(redisCacheKeys.entryOrder), 10);
  assert.equal(await client.hlen(redisCacheKeys.entryTags), 10);
  assert.equal(await client.scard(redisCacheKeys.tag("tag:shared")), 10);
  assert.equal(await client.exists(redisCacheKeys.tag("tag:0")), 0);
});

Deno.test("[tier chain] fills of a tier slower than the misses are skipped, not queued", async () => {
  await using t = await openChain({ kvDelayMs: 200 });
  const entries = await Promise.all(Array.from({ length: 100 }, (_, i) => t.entry(`v${i}`)));
  // Synchronously, as a burst of misses would: nothing answers in between.
  entries.forEach((entry, i) => t.chain.store(`burst:${i}`, entry, 0));
  const skipped = t.metrics.value("fills_skipped", { tier: "L1" });
  assert.equal(skipped, 100 - MAX_PENDING_FILLS, "at most MAX_PENDING_FILLS in flight");
  await t.settled();
  assert.equal(await t.kvEntryCount(), MAX_PENDING_FILLS);
  t.chain.store("after", await t.entry("after"), 0);
  await t.settled();
  assert.equal((await t.kvTier.get("after"))?.body, "after", "fills resume once they drain");
});
