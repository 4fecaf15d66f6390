import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { getProductBySlug, listCategories } from "../../../db/catalog.ts";
import { updateProduct } from "../../../db/admin_products.ts";
import { createEdgeCache } from "../../../edge/cache/cache.ts";
import { cacheKeys, cacheTags } from "../../../routes/catalog/cache_keys.ts";
import { createLogger } from "../../../edge/platform/log.ts";
import {
  createClock,
  type EdgeNode,
  openEdgeNode,
  openOrigin,
  startSharedRedis,
  testCacheConfig,
} from "./cache_fixtures.ts";

const origin = await openOrigin({ productCount: 200 });
const shared = await startSharedRedis();
const active = origin.catalog.products.filter((p) => p.isActive);
let nextProduct = 0;
/** A product no earlier test touched (each test gets cold keys). */
function coldProduct() {
  return active[nextProduct++];
}

async function withNodes(
  count: number,
  options: { now?: () => number; redis?: boolean; config?: Parameters<typeof testCacheConfig>[0] },
  fn: (...nodes: EdgeNode[]) => Promise<void>,
): Promise<void> {
  const nodes: EdgeNode[] = [];
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(
        await openEdgeNode(origin, {
          name: `node-${i}`,
          redis: options.redis === false ? undefined : shared,
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
    await withNodes(2, {}, async (a, b) => {
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
    const result = await fresh.get({
      kind: "product",
      key: cacheKeys.productPage(product2.slug),
      load: () => Promise.reject(new Error("must not load")),
    });
    assert.equal(result.source, "L1");
    await fresh.close();
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
    assert.ok(max < pollMs + 150, `max ${max} ms`);
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

Deno.test("[cache] never sends KEYS or SCAN to Redis", () => {
  assert.ok(shared.commands.length > 100, `${shared.commands.length} commands recorded`);
  const names = new Set(shared.commands.map((command) => command[0].toUpperCase()));
  for (const banned of ["KEYS", "SCAN", "SSCAN", "HSCAN", "ZSCAN"]) {
    assert.ok(!names.has(banned), `sent ${banned}`);
  }
  for (const command of shared.commands.filter((c) => c[0].toUpperCase() === "EVAL")) {
    assert.doesNotMatch(command[1], /call\(\s*'(KEYS|SCAN)'/i);
  }
});

Deno.test("[cache] closes fixtures", async () => {
  await shared.stop();
  await origin.close();
});
