import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { HTTPException } from "hono/http-exception";
import { getProductBySlug, listCategories } from "../../../db/catalog.ts";
import { updateProduct } from "../../../db/admin_products.ts";
import { createEdgeCache } from "../../../edge/cache/cache.ts";
import { redisCacheKeys } from "../../../edge/keys.ts";
import { InvalidParameterError, NotFoundError } from "../../../edge/platform/errors.ts";
import { cacheKeys, cacheTags } from "../../../routes/catalog/cache_keys.ts";
import { createLogger } from "../../../edge/platform/log.ts";
import {
  createClock,
  type EdgeNode,
  openEdgeNode,
  openOrigin,
  type SharedRedis,
  slowedKv,
  startSharedRedis,
  testCacheConfig,
} from "./cache_fixtures.ts";

// One origin and one Redis for the file, closed after the last test (also under --filter).
const origin = await openOrigin({ productCount: 200 });
const shared = await startSharedRedis();
Deno.test.afterAll(async () => {
  await shared.stop();
  await origin.close();
});
const active = origin.catalog.products.filter((p) => p.isActive);
let nextProduct = 0;
/** A product no earlier test touched (each test gets cold keys). */
function coldProduct() {
  return active[nextProduct++];
}

async function withNodes(
  count: number,
  options: {
    now?: () => number;
    /** false: no L2; a SharedRedis: that one instead of the file's. */
    redis?: boolean | SharedRedis;
    config?: Parameters<typeof testCacheConfig>[0];
  },
  fn: (...nodes: EdgeNode[]) => Promise<void>,
): Promise<void> {
  const nodes: EdgeNode[] = [];
  const redis = options.redis === false
    ? undefined
    : options.redis === true || options.redis === undefined
    ? shared
    : options.redis;
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(
        await openEdgeNode(origin, {
          name: `node-${i}`,
          redis,
          now: options.now,
          config: options.config,
        }),
      );
    }
    await fn(...nodes);
  } finally {
    for (const node of nodes) await node.close();
  }
}

async function get(node: EdgeNode, path: string, headers?: HeadersInit) {
  const response = await node.app.request(path, { headers });
  return { response, body: await response.text(), cache: response.headers.get("x-cache") };
}

Deno.test("[cache] coalesces 200 concurrent misses for one cold product into one origin fetch", async (t) => {
  const onePageQueries = await (async () => {
    const before = origin.queries.length;
    // A product page's load: the product, and the categories for the header's menu.
    await getProductBySlug(origin.database.reader, active[active.length - 1].slug);
    await listCategories(origin.database.reader, { limit: 100 });
    return origin.queries.length - before;
  })();

  await t.step("on one node (singleflight)", async () => {
    await withNodes(1, {}, async (node) => {
      const product = coldProduct();
      const before = origin.queries.length;
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => get(node, `/p/${product.slug}`)),
      );
      assert.ok(responses.every((r) => r.response.status === 200));
      assert.equal(new Set(responses.map((r) => r.body)).size, 1);
      assert.equal(node.cache.metrics.value("origin_fetches"), 1);
      assert.equal(origin.queries.length - before, onePageQueries, "one product load");
      assert.equal(node.cache.metrics.value("coalesced_waits"), 199);
      await node.cache.settled();
    });
  });

  await t.step("across two nodes (Redis lease)", async () => {
    // Generous budgets: a busy CPU must not turn a slow lease call or a late L2 fill into a
    // second fetch. Without a working lease both nodes fetch, however long they wait.
    const patient = { config: { leaseWaitMs: 10_000, tierBudgetMs: 5000 } };
    await withNodes(2, patient, async (a, b) => {
      const product = coldProduct();
      const before = origin.queries.length;
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => get(i % 2 ? b : a, `/p/${product.slug}`)),
      );
      assert.ok(responses.every((r) => r.response.status === 200));
      const fetches = a.cache.metrics.value("origin_fetches") +
        b.cache.metrics.value("origin_fetches");
      assert.equal(fetches, 1);
      assert.equal(origin.queries.length - before, onePageQueries);
      const shared = [a, b].reduce(
        (sum, node) =>
          sum + node.cache.metrics.value("lease_waits") +
          node.cache.metrics.value("hits", { tier: "L2" }),
        0,
      );
      assert.ok(shared >= 1, "the other node waited for the lease holder or read its L2 entry");
      await a.cache.settled();
      await b.cache.settled();
    });
  });
});

Deno.test("[cache] fills upper tiers from lower ones: L2 → L1 → L0", async () => {
  const product = coldProduct();
  await withNodes(2, {}, async (a, b) => {
    assert.equal((await get(a, `/p/${product.slug}`)).cache, "MISS");
    await a.cache.settled();
    assert.equal((await get(a, `/p/${product.slug}`)).cache, "L0");
    assert.equal((await get(b, `/p/${product.slug}`)).cache, "L2");
    assert.equal((await get(b, `/p/${product.slug}`)).cache, "L0");
    await b.cache.settled();
  });
  // A restarted node (new L0) over the same KV file would answer from L1: same cache, new LRU.
  await withNodes(1, {}, async (node) => {
    const product2 = coldProduct();
    await get(node, `/p/${product2.slug}`);
    await node.cache.settled();
    const fresh = await createEdgeCache({
      config: testCacheConfig({ tierBudgetMs: 500 }),
      logger: createLogger("error", { write: () => {} }),
      kv: node.kv,
    });
    try {
      const result = await fresh.get({
        kind: "product",
        key: cacheKeys.productPage(product2.slug),
        load: () => Promise.reject(new Error("must not load")),
      });
      assert.equal(result.source, "L1");
    } finally {
      await fresh.close();
    }
  });
});

Deno.test("[cache] serves stale while revalidating once in the background, then fresh", async () => {
  const clock = createClock();
  const product = coldProduct();
  await withNodes(1, { now: clock.now }, async (node) => {
    const path = `/p/${product.slug}`;
    const first = await get(node, path);
    assert.equal(first.cache, "MISS");
    await node.cache.settled();
    await updateProduct(origin.database.writer, product.id!, { name: "Renamed Quietly" });
    clock.advance(node.cache.windows("product").freshMs + 1);
    const stale = await Promise.all(Array.from({ length: 50 }, () => get(node, path)));
    assert.ok(stale.every((r) => r.cache === "STALE" && r.body === first.body));
    await node.cache.settled();
    assert.equal(node.cache.metrics.value("revalidations"), 1);
    assert.equal(node.cache.metrics.value("origin_fetches"), 2);
    const fresh = await get(node, path);
    assert.equal(fresh.cache, "L0");
    assert.match(fresh.body, /Renamed Quietly/);
    assert.notEqual(fresh.response.headers.get("etag"), first.response.headers.get("etag"));
  });
});

Deno.test("[cache] serves stale when the origin fails, until stale-if-error runs out", async () => {
  const clock = createClock();
  await withNodes(1, { now: clock.now, redis: false }, async (node) => {
    const windows = node.cache.windows("listing");
    let calls = 0;
    const lookup = {
      kind: "listing" as const,
      key: "test:stale-if-error",
      load: () => {
        calls++;
        return calls === 1
          ? Promise.resolve({ body: "v1", contentType: "text/plain", tags: ["t"] })
          : Promise.reject(new Error("database down"));
      },
    };
    assert.equal((await node.cache.get(lookup)).source, "MISS");
    clock.advance(windows.freshMs + windows.staleWhileRevalidateMs + 1);
    const served = await node.cache.get(lookup);
    assert.equal(served.source, "STALE");
    assert.equal(served.entry.body, "v1");
    clock.advance(windows.staleIfErrorMs);
    await assert.rejects(node.cache.get(lookup), /database down/);
    await node.cache.settled();
  });
});

Deno.test("[cache] right after an invalidation, what it touched is read from the primary, not a lagging replica", async (t) => {
  const clock = createClock();
  await withNodes(1, { now: clock.now, redis: false }, async (node) => {
    const reads: string[] = [];
    const lookup = (key: string, tag: string) => ({
      kind: "product" as const,
      key,
      load: ({ afterWrite }: { afterWrite: boolean }) => {
        reads.push(afterWrite ? "primary" : "replica");
        return Promise.resolve({ body: key, contentType: "text/plain", tags: [tag] });
      },
    });
    const readsOf = async (key: string, tag: string) => {
      reads.length = 0;
      await node.cache.get(lookup(key, tag));
      return [...reads];
    };
    assert.deepEqual(await readsOf("test:before-any-write", "product:1"), ["replica"]);
    await node.cache.invalidate(["product:1"]);
    await t.step("a response that depends on the write: the primary confirms it", async () => {
      assert.deepEqual(await readsOf("test:just-after-write", "product:1"), ["replica", "primary"]);
    });
    await t.step(
      "an unrelated response: the replica alone, no round trip to the primary",
      async () => {
        assert.deepEqual(await readsOf("test:unrelated", "product:2"), ["replica"]);
      },
    );
    await t.step("once the replication window has passed: the replica alone", async () => {
      clock.advance(10_001);
      assert.deepEqual(await readsOf("test:long-after-write", "product:1"), ["replica"]);
    });
  });
});

Deno.test("[cache] a read racing an invalidation does not put the old entry back", async () => {
  await withNodes(1, { redis: false }, async (node) => {
    let version = 1;
    const lookup = {
      kind: "product" as const,
      key: "test:race",
      load: () =>
        Promise.resolve({ body: `v${version}`, contentType: "text/plain", tags: ["product:9"] }),
    };
    await node.cache.get(lookup);
    await node.cache.settled(); // in L0 and in L1
    version = 2;
    for (let round = 0; round < 5; round++) {
      // The read starts while the invalidation is still deleting the L1 entry.
      const invalidating = node.cache.invalidate(["product:9"]);
      const racing = node.cache.get(lookup);
      await Promise.all([invalidating, racing]);
      await node.cache.settled();
      assert.equal((await node.cache.get(lookup)).entry.body, "v2", `round ${round}`);
    }
  });
});

Deno.test("[cache] a 404 for a slug invalidated a moment ago is confirmed by the primary", async () => {
  await withNodes(1, { redis: false }, async (node) => {
    const reads: string[] = [];
    const lookup = {
      kind: "product" as const,
      key: "test:lagging-replica-404",
      notFoundTags: ["slug:just-created"],
      load: ({ afterWrite }: { afterWrite: boolean }) => {
        reads.push(afterWrite ? "primary" : "replica");
        // The replica has not seen the product that now carries this slug.
        return afterWrite
          ? Promise.resolve({ body: "found", contentType: "text/plain", tags: ["product:7"] })
          : Promise.reject(new NotFoundError("Product not found"));
      },
    };
    await node.cache.invalidate(["slug:just-created"]);
    assert.equal((await node.cache.get(lookup)).entry.body, "found");
    assert.deepEqual(reads, ["replica", "primary"]);
  });
});

Deno.test("[cache] a node outside Redis's region keeps Redis to invalidation events", async () => {
  await using own = await startSharedRedis();
  const far = { redis: own, config: { redisInRegion: false } };
  await withNodes(1, far, async (node) => {
    const product = coldProduct();
    own.commands.length = 0;
    assert.equal((await get(node, `/p/${product.slug}`)).cache, "MISS");
    await node.cache.settled();
    assert.equal(own.commands.length, 0, `no L2 read, lease or fill: ${own.commands.join(" ")}`);
    await node.cache.invalidate([cacheTags.product(product.id!)]);
    await node.cache.pollInvalidations();
    const names = own.commands.map((command) => command[0].toUpperCase());
    assert.ok(names.includes("EVAL") && names.includes("LRANGE"), names.join(","));
  });
});

Deno.test("[cache] an update on one node invalidates that product on another node, nothing else", async () => {
  await withNodes(2, {}, async (a, b) => {
    const [product, unrelated] = [coldProduct(), coldProduct()];
    const category = origin.catalog.categories.find((c) => c.id === product.categoryId)!;
    for (const path of [`/p/${product.slug}`, `/p/${unrelated.slug}`, `/c/${category.slug}`]) {
      await get(b, path);
    }
    await b.cache.settled();
    const variants = origin.catalog.variants.filter((v) => v.productId === product.id);
    const response = await a.app.request(`/api/admin/products/${product.id}/price`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        variants: variants.map((v) => ({ variantId: v.id, priceMinor: 123_456 })),
      }),
    });
    assert.equal(response.status, 200);
    await b.cache.pollInvalidations();
    const page = await get(b, `/p/${product.slug}`);
    assert.equal(page.cache, "MISS", "L0, L1 and L2 entries are gone");
    assert.match(page.body, /1,234\.56/);
    assert.equal((await get(b, `/c/${category.slug}`)).cache, "MISS", "its category listing too");
    assert.equal((await get(b, `/p/${unrelated.slug}`)).cache, "L0", "unrelated stays cached");
    await a.cache.settled();
    await b.cache.settled();
  });
});

Deno.test("[cache] invalidation reaches another node within one poll interval (measured)", async () => {
  const pollMs = 250;
  await withNodes(2, { config: { invalidationPollMs: pollMs } }, async (a, b) => {
    const product = coldProduct();
    const key = cacheKeys.productPage(product.slug);
    const samples: number[] = [];
    for (let i = 0; i < 50; i++) {
      await get(b, `/p/${product.slug}`);
      await b.cache.settled();
      assert.ok(b.cache.peek(key));
      // Updates arrive at random points of the poll cycle, as in production.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * pollMs));
      const started = performance.now();
      await a.cache.invalidate([cacheTags.product(product.id!)]);
      while (b.cache.peek(key)) await new Promise((resolve) => setTimeout(resolve, 1));
      samples.push(performance.now() - started);
    }
    samples.sort((x, y) => x - y);
    const p50 = samples[Math.floor(samples.length / 2)];
    const max = samples[samples.length - 1];
    console.log(
      `invalidation propagation between two nodes (poll ${pollMs} ms, 50 updates): ` +
        `p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
    );
    // Bounds a busy machine keeps (p50 240 ms, max 750 ms seen beside a CPU hog; about 150
    // and 260 ms on a quiet one): the poll, not the 300 s lifetime, removes the entry.
    assert.ok(p50 < 2 * pollMs, `p50 ${p50} ms`);
    assert.ok(max < 2000, `max ${max} ms`);
  });
});

Deno.test("[cache] ETag, 304, Cache-Control, Vary and X-Cache", async (t) => {
  await withNodes(1, {}, async (node) => {
    const product = coldProduct();
    const path = `/api/products/${product.slug}`;
    const first = await get(node, path);
    const etag = first.response.headers.get("etag")!;
    assert.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
    assert.equal(
      first.response.headers.get("cache-control"),
      "public, max-age=0, s-maxage=300, stale-while-revalidate=600, stale-if-error=86400",
    );
    assert.equal(first.response.headers.get("vary"), "Accept-Encoding");
    assert.equal(first.response.headers.get("content-type"), "application/json");
    await t.step("If-None-Match with the ETag (strong or weak) gives 304", async () => {
      for (const header of [etag, `W/${etag}`, `"other", ${etag}`]) {
        const r = await get(node, path, { "if-none-match": header });
        assert.equal(r.response.status, 304);
        assert.equal(r.body, "");
        assert.equal(r.response.headers.get("etag"), etag);
        assert.equal(r.cache, "L0");
      }
      assert.equal((await get(node, path, { "if-none-match": '"other"' })).response.status, 200);
    });
    await t.step("an Authorization header makes the response private", async () => {
      const r = await get(node, path, { authorization: "Bearer x" });
      assert.equal(r.response.status, 200);
      assert.equal(r.response.headers.get("cache-control"), "private, no-store");
    });
    await t.step("a signed-in shopper's cookies keep the shared response", async () => {
      const r = await get(node, path, {
        cookie: "account_name=Ada; cart_count=3; __Secure-shop_refresh=opaque",
      });
      assert.equal(r.response.status, 200);
      assert.equal(r.cache, "L0");
      assert.match(r.response.headers.get("cache-control") ?? "", /^public, /);
    });
    await node.cache.settled();
  });
});

Deno.test("[cache] serves a gzip representation made once, with its own validator", async () => {
  await withNodes(1, {}, async (node) => {
    const product = coldProduct();
    const path = `/p/${product.slug}`;
    const plain = await get(node, path);
    const gzip = { "accept-encoding": "gzip, deflate, br" };
    const responses = [];
    for (let i = 0; i < 3; i++) responses.push(await node.app.request(path, { headers: gzip }));
    for (const response of responses) {
      assert.equal(response.headers.get("content-encoding"), "gzip");
      assert.equal(response.headers.get("x-cache"), "L0");
      const unzipped = new TextDecoder().decode(gunzipSync(await response.bytes()));
      assert.equal(unzipped, plain.body, "every clone of the prebuilt response has the whole body");
    }
    const gzipEtag = responses[0].headers.get("etag")!;
    assert.notEqual(gzipEtag, plain.response.headers.get("etag"));
    const revalidated = await node.app.request(path, {
      headers: { ...gzip, "if-none-match": gzipEtag },
    });
    assert.equal(revalidated.status, 304);
    const refused = await node.app.request(path, { headers: { "accept-encoding": "gzip;q=0" } });
    assert.equal(refused.headers.get("content-encoding"), null);
    assert.equal(await refused.text(), plain.body);
    for (const response of [plain.response, ...responses]) {
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.match(response.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    }
    await node.cache.settled();
  });
});

Deno.test("[cache] keeps answering 200 when Redis dies, and logs the outage once", async () => {
  const own = await startSharedRedis();
  const node = await openEdgeNode(origin, { name: "lonely", redis: own });
  try {
    const [warm, cold] = [coldProduct(), coldProduct()];
    assert.equal((await get(node, `/p/${warm.slug}`)).response.status, 200);
    await node.cache.settled();
    await own.redis.kill();
    for (let i = 0; i < 20; i++) {
      assert.equal((await get(node, `/p/${warm.slug}`)).response.status, 200);
      const r = await get(node, `/p/${i % 2 ? cold.slug : coldProduct().slug}`);
      assert.equal(r.response.status, 200);
    }
    await node.cache.pollInvalidations();
    await node.cache.settled();
    assert.ok(node.cache.metrics.value("tier_errors", { tier: "redis" }) >= 1);
    const warnings = node.logLines.filter((line) => line.includes("cache tier redis unavailable"));
    assert.equal(warnings.length, 1, node.logLines.join(""));
  } finally {
    await node.close();
    await own.stop();
  }
});

Deno.test("[cache] never sends KEYS or SCAN to Redis", async () => {
  // Its own Redis, so the commands checked are exactly this workload's: misses across nodes
  // (leases, L2 fills), L2 hits, stale revalidations, evictions and an invalidation.
  await using own = await startSharedRedis();
  const clock = createClock();
  const options = { now: clock.now, redis: own, config: { redisMaxEntries: 3 } };
  await withNodes(2, options, async (a, b) => {
    const products = [coldProduct(), coldProduct(), coldProduct(), coldProduct()];
    for (const product of products) {
      assert.equal((await get(a, `/p/${product.slug}`)).response.status, 200);
      await a.cache.settled();
      assert.equal((await get(b, `/p/${product.slug}`)).response.status, 200);
    }
    clock.advance(a.cache.windows("product").freshMs + 1);
    assert.equal((await get(a, `/p/${products[0].slug}`)).cache, "STALE");
    await a.cache.settled();
    const variants = origin.catalog.variants.filter((v) => v.productId === products[1].id);
    const response = await a.app.request(`/api/admin/products/${products[1].id}/price`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ variants: [{ variantId: variants[0].id, priceMinor: 4321 }] }),
    });
    assert.equal(response.status, 200);
    await b.cache.pollInvalidations();
    await a.cache.settled();
    await b.cache.settled();
  });
  const names = new Set(own.commands.map((command) => command[0].toUpperCase()));
  assert.ok(own.commands.length >= 20, `${own.commands.length} commands recorded`);
  for (const expected of ["EVAL", "GET", "SET", "LRANGE"]) {
    assert.ok(names.has(expected), `the workload sent ${expected}`);
  }
  for (const banned of ["KEYS", "SCAN", "SSCAN", "HSCAN", "ZSCAN"]) {
    assert.ok(!names.has(banned), `sent ${banned}`);
  }
  for (const command of own.commands.filter((c) => c[0].toUpperCase() === "EVAL")) {
    assert.doesNotMatch(command[1], /call\(\s*'(KEYS|SCAN)'/i);
  }
});

Deno.test("[cache] a long query URL is cached like any other: the second request makes no query", async (t) => {
  // 100 × "é" is a valid query (100 characters) whose key is over 600 after percent-encoding.
  const q = encodeURIComponent("é".repeat(100));
  for (const path of [`/search?q=${q}`, `/api/products?q=${q}`]) {
    await t.step(path.slice(0, 24), async () => {
      await withNodes(1, {}, async (node) => {
        const first = await get(node, path);
        assert.equal(first.response.status, 200);
        const before = origin.queries.length;
        const second = await get(node, path);
        assert.equal(origin.queries.length - before, 0, "no query for the repeat");
        assert.equal(second.body, first.body);
        assert.deepEqual([first.cache, second.cache], ["MISS", "L0"]);
        await node.cache.settled();
      });
    });
  }
});

Deno.test("[cache] a missing slug is answered 404 from the cache until its short TTL ends", async (t) => {
  const clock = createClock();
  await withNodes(1, { now: clock.now }, async (node) => {
    const ttlMs = 30_000; // CACHE_NOT_FOUND_TTL_S's default
    for (
      const path of ["/p/no-such-product", "/api/products/no-such-product", "/c/no-such-aisle"]
    ) {
      await t.step(path, async () => {
        const before = origin.queries.length;
        const first = await get(node, path);
        assert.equal(first.response.status, 404);
        const queried = origin.queries.length - before;
        assert.ok(queried >= 1);
        const second = await get(node, path);
        assert.equal(second.response.status, 404);
        assert.equal(second.body, first.body, "the same answer, word for word");
        assert.equal(origin.queries.length - before, queried, "one query for two requests");
        clock.advance(ttlMs + 1);
        assert.equal((await get(node, path)).response.status, 404);
        // Asked again after the TTL (the page's menu may still come from its own cached entry).
        assert.ok(origin.queries.length - before > queried, "asked again after the TTL");
      });
    }
    assert.equal(node.cache.metrics.value("origin_errors"), 0);
    assert.equal(testCacheConfig().notFoundTtlMs, ttlMs);
    await node.cache.settled();
  });
});

Deno.test("[cache] a cached 404 is thrown again as the kind of error the loader threw", async () => {
  await withNodes(1, { redis: false }, async (node) => {
    const thrown = [
      new NotFoundError("Product not found"),
      new HTTPException(404, { message: "We couldn't find that product." }),
    ];
    for (const [i, error] of thrown.entries()) {
      let loads = 0;
      const lookup = {
        kind: "product" as const,
        key: `test:replayed-404:${i}`,
        load: () => {
          loads++;
          return Promise.reject(error);
        },
      };
      for (let round = 0; round < 2; round++) {
        await assert.rejects(node.cache.get(lookup), (replayed: Error) => {
          assert.equal(replayed.constructor, error.constructor);
          assert.equal(replayed.message, error.message);
          assert.equal((replayed as { status?: number }).status, 404);
          return true;
        });
      }
      assert.equal(loads, 1, "the second came from the cache");
    }
  });
});

Deno.test("[cache] a product moved to a slug with a cached 404 is served there, and its old slug drops", async (t) => {
  await withNodes(2, {}, async (a, b) => {
    const product = coldProduct();
    const newSlug = `${product.slug}-renamed`;
    assert.equal((await get(b, `/p/${newSlug}`)).response.status, 404);
    assert.equal((await get(b, `/p/${newSlug}`)).response.status, 404);
    assert.equal((await get(b, `/api/products/${newSlug}`)).response.status, 404);
    assert.equal((await get(b, `/p/${product.slug}`)).response.status, 200);
    await b.cache.settled();
    const response = await a.app.request(`/api/admin/products/${product.id}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ slug: newSlug }),
    });
    assert.equal(response.status, 200);
    const { tags } = await response.json();
    assert.ok(
      tags.includes(cacheTags.slug(newSlug)) && tags.includes(cacheTags.slug(product.slug)),
    );
    await b.cache.pollInvalidations();
    const moved = await get(b, `/p/${newSlug}`);
    assert.equal(moved.response.status, 200);
    assert.equal(moved.cache, "MISS");
    assert.equal((await get(b, `/api/products/${newSlug}`)).response.status, 200);
    assert.equal((await get(b, `/p/${product.slug}`)).response.status, 404, "the old slug is gone");

    await t.step("a slug that belongs to another product is refused with 409", async () => {
      const other = coldProduct();
      const refused = await a.app.request(`/api/admin/products/${product.id}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ slug: other.slug }),
      });
      assert.equal(refused.status, 409);
      assert.equal((await refused.json()).error.field, "slug");
    });

    await t.step("a product activated again replaces its cached 404", async () => {
      const patch = (body: unknown) =>
        a.app.request(`/api/admin/products/${product.id}`, {
          method: "PATCH",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      assert.equal((await patch({ isActive: false })).status, 200);
      await b.cache.pollInvalidations();
      assert.equal((await get(b, `/p/${newSlug}`)).response.status, 404);
      assert.equal((await patch({ isActive: true })).status, 200);
      await b.cache.pollInvalidations();
      assert.equal((await get(b, `/p/${newSlug}`)).response.status, 200);
    });
    await a.cache.settled();
    await b.cache.settled();
  });
});

Deno.test("[cache] a flood of unique URLs keeps L1 and L2 within their entry bounds", async () => {
  await using own = await startSharedRedis();
  const bounds = { kvMaxEntries: 20, redisMaxEntries: 30 };
  await withNodes(1, { redis: own, config: bounds }, async (node) => {
    for (let i = 0; i < 100; i++) {
      const page = await get(node, `/search?q=flood${i}&sort=name`);
      assert.equal(page.response.status, 200);
      assert.equal(page.cache, "MISS");
    }
    await node.cache.settled();
    let kvEntries = 0;
    for await (const item of node.kv.list({ prefix: ["cache"] })) {
      if (item.key[2] === "e") kvEntries++;
    }
    assert.ok(kvEntries > 0 && kvEntries <= bounds.kvMaxEntries, `${kvEntries} KV entries`);
    const client = own.client();
    let redisEntries = 0;
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, { match: `${redisCacheKeys.entryPrefix}*` });
      cursor = String(next);
      redisEntries += keys.length;
    } while (cursor !== "0");
    const stored = 100 - node.cache.metrics.value("fills_skipped", { tier: "L2" });
    assert.ok(stored > bounds.redisMaxEntries, `${stored} written: the bound was reached`);
    assert.equal(redisEntries, bounds.redisMaxEntries);
  });
});

Deno.test("[cache] 404s and other client errors are not origin errors; failures are", async () => {
  await withNodes(1, { redis: false }, async (node) => {
    const thrown = [
      new NotFoundError("Product not found"),
      new HTTPException(404, { message: "We couldn't find that product." }),
      new InvalidParameterError("cursor", "is not a valid cursor"),
      new HTTPException(400, { message: "bad" }),
      new Error("database down"),
    ];
    for (const [i, error] of thrown.entries()) {
      await assert.rejects(
        node.cache.get({
          kind: "product",
          key: `test:errors:${i}`,
          load: () => Promise.reject(error),
        }),
      );
    }
    assert.equal(node.cache.metrics.value("origin_fetches"), thrown.length);
    assert.equal(node.cache.metrics.value("origin_errors"), 1);
    assert.equal((await get(node, "/p/not-a-product-at-all")).response.status, 404);
    assert.equal(node.cache.metrics.value("origin_errors"), 1);
  });
});

Deno.test("[cache] KV calls that overrun their budget but answer log no outage; a dead KV logs one", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "cache-slow-kv-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  const lines: string[] = [];
  const cache = await createEdgeCache({
    config: testCacheConfig({ tierBudgetMs: 5 }),
    logger: createLogger("info", { write: (line) => lines.push(line) }),
    kv: slowedKv(kv, 25),
  });
  const lookup = (key: string) => ({
    kind: "listing" as const,
    key,
    load: () => Promise.resolve({ body: key, contentType: "text/plain", tags: [key] }),
  });
  const outages = () => lines.filter((line) => line.includes("cache tier kv unavailable"));
  let open = true;
  const closeKv = () => open && (kv.close(), open = false);
  try {
    await t.step("a miss-heavy burst of slow calls", async () => {
      for (let round = 0; round < 4; round++) {
        const keys = Array.from({ length: 50 }, (_, i) => `test:busy:${round}:${i}`);
        await Promise.all(keys.map((key) => cache.get(lookup(key))));
      }
      await cache.settled();
      assert.equal(outages().length, 0, outages().join(""));
      const overruns = cache.metrics.value("tier_errors", { tier: "kv" });
      assert.ok(overruns >= 200, `${overruns} KV calls over budget (else this proves nothing)`);
    });
    await t.step("a dead KV", async () => {
      closeKv();
      for (let i = 0; i < 50; i++) await cache.get(lookup(`test:dead:${i}`));
      await cache.settled();
      assert.equal(outages().length, 1, lines.join(""));
    });
  } finally {
    await cache.close();
    closeKv();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
