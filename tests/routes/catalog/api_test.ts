import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import type { ProductSummary } from "../../../db/catalog.ts";
import {
  closeAfterAll,
  createQueryCounter,
  openTestServices,
  type TestServices,
} from "../../fixtures.ts";

type Listing = { items: ProductSummary[]; nextCursor: string | null };

async function getJson<T>(shop: TestServices, path: string): Promise<{ status: number; body: T }> {
  const response = await shop.app.request(path);
  return { status: response.status, body: await response.json() as T };
}

/** Follows nextCursor until the end, returning every item in page order. */
async function walkAllPages(shop: TestServices, query: string): Promise<ProductSummary[]> {
  const items: ProductSummary[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const path: string = `/api/products?${query}${cursor ? `&cursor=${cursor}` : ""}`;
    const { status, body } = await getJson<Listing>(shop, path);
    assert.equal(status, 200, path);
    items.push(...body.items);
    cursor = body.nextCursor;
    if (!cursor) return items;
  }
  throw new Error("pagination did not end");
}

const counter = createQueryCounter();
// No outbox worker: its housekeeping statements would land in the query counts.
const shop = closeAfterAll(
  await openTestServices({
    productCount: 600,
    onQuery: counter.onQuery,
    env: { OUTBOX_WORKER: "false" },
  }),
);

Deno.test("[catalog api] lists categories", async () => {
  const { status, body } = await getJson<{ items: { slug: string }[] }>(shop, "/api/categories");
  assert.equal(status, 200);
  assert.ok(body.items.length >= 50);
  assert.ok(body.items.every((c) => /^[a-z0-9-]+$/.test(c.slug)));
});

Deno.test("[catalog api] cursor pagination covers every product once, for every sort", async (t) => {
  const sorts = ["featured", "price_asc", "price_desc", "newest", "name"] as const;
  const everything = await walkAllPages(shop, "limit=100");
  const activeCount = everything.length;
  assert.ok(activeCount > 500 && activeCount <= 600, `${activeCount} active products`);
  for (const sort of sorts) {
    await t.step(sort, async () => {
      const items = await walkAllPages(shop, `sort=${sort}&limit=37`);
      const ids = items.map((item) => item.id);
      assert.equal(new Set(ids).size, ids.length, "no duplicates across pages");
      assert.equal(ids.length, activeCount, "no gaps across pages");
      for (let i = 1; i < items.length; i++) {
        const [a, b] = [items[i - 1], items[i]];
        if (sort === "price_asc") assert.ok(a.priceMinor <= b.priceMinor);
        if (sort === "price_desc") assert.ok(a.priceMinor >= b.priceMinor);
        if (sort === "name") assert.ok(a.name <= b.name || a.name.localeCompare(b.name) <= 0);
      }
    });
  }
});

Deno.test("[catalog api] filters by category, price range, stock and search", async (t) => {
  await t.step("category", async () => {
    const items = await walkAllPages(shop, "category=kitchen-knives&limit=100");
    assert.ok(items.length > 0);
    assert.ok(items.every((item) => /knife/i.test(item.name)), "every item is a knife");
    for (const item of items.slice(0, 3)) {
      const { body } = await getJson<{ category: { slug: string } }>(
        shop,
        `/api/products/${item.slug}`,
      );
      assert.equal(body.category.slug, "kitchen-knives");
    }
  });
  await t.step("price range (decimal amounts, inclusive)", async () => {
    const items = await walkAllPages(shop, "min_price=50&max_price=120.5&limit=100");
    assert.ok(items.length > 0);
    assert.ok(items.every((item) => item.priceMinor >= 5000 && item.priceMinor <= 12050));
  });
  await t.step("in stock only", async () => {
    const all = await walkAllPages(shop, "limit=100");
    const inStock = await walkAllPages(shop, "in_stock=true&limit=100");
    assert.ok(inStock.every((item) => item.inStock));
    assert.equal(inStock.length, all.filter((item) => item.inStock).length);
    assert.ok(inStock.length < all.length, "the seed has some out-of-stock products");
  });
  await t.step("search by name prefix", async () => {
    const items = await walkAllPages(shop, "q=alpi&limit=100");
    assert.ok(items.length > 0);
    assert.ok(items.every((item) => /alpi/i.test(`${item.name} ${item.brand}`)));
  });
  await t.step("unknown category gives an empty list", async () => {
    const { status, body } = await getJson<Listing>(shop, "/api/products?category=no-such-thing");
    assert.equal(status, 200);
    assert.deepEqual(body, { items: [], nextCursor: null, prevCursor: null });
  });
});

Deno.test("[catalog api] pages default to 24 items and never exceed 100", async () => {
  const byDefault = await getJson<Listing>(shop, "/api/products");
  assert.equal(byDefault.body.items.length, 24);
  const max = await getJson<Listing>(shop, "/api/products?limit=100");
  assert.equal(max.body.items.length, 100);
  const over = await getJson<{ error: { field: string } }>(shop, "/api/products?limit=101");
  assert.equal(over.status, 400);
  assert.equal(over.body.error.field, "limit");
});

Deno.test("[catalog api] a 100-item listing runs at most 3 statements and selects only listed columns", async (t) => {
  for (
    const query of [
      // Listings no earlier test fetched: a cached one answers with no query at all.
      "limit=100&sort=newest",
      "category=kitchen-knives&limit=100&sort=price_asc",
      "q=alpine&limit=100&in_stock=1",
    ]
  ) {
    await t.step(query, async () => {
      counter.reset();
      const { status } = await getJson<Listing>(shop, `/api/products?${query}`);
      assert.equal(status, 200);
      // A category listing: the category and its children (one batch), then the page.
      assert.ok(counter.count >= 1 && counter.count <= 3, `${counter.count} statements`);
      const listing = counter.statements.find((s) => s.includes('from "products"'))!;
      assert.doesNotMatch(listing, /"description"/, "does not select unrendered columns");
    });
  }
});

Deno.test("[catalog api] bad parameters give 400 naming the field and change nothing", async (t) => {
  const cases: [string, string][] = [
    ["limit=0", "limit"],
    ["limit=abc", "limit"],
    ["sort=cheapest", "sort"],
    ["min_price=-1", "min_price"],
    ["max_price=1e9", "max_price"],
    ["min_price=20&max_price=10", "max_price"],
    ["in_stock=maybe", "in_stock"],
    ["category=Bad%20Slug", "category"],
    ["cursor=not-a-cursor", "cursor"],
    ["cursor=WzEsMl0&sort=name", "cursor"],
    [`q=${"x".repeat(101)}`, "q"],
  ];
  for (const [query, field] of cases) {
    await t.step(query.slice(0, 40), async () => {
      const response = await shop.app.request(`/api/products?${query}`);
      assert.equal(response.status, 400);
      const body = await response.json();
      assert.equal(body.error.code, "invalid_parameter");
      assert.equal(body.error.field, field);
      assert.match(body.error.message, new RegExp(field, "i"));
    });
  }
});

Deno.test("[catalog api] product detail has variants with price and stock; unknown slugs 404", async () => {
  const { body: listing } = await getJson<Listing>(shop, "/api/products?limit=1");
  const { status, body } = await getJson<{
    slug: string;
    variants: { priceMinor: number; available: number }[];
    images: unknown[];
    category: { slug: string };
  }>(shop, `/api/products/${listing.items[0].slug}`);
  assert.equal(status, 200);
  assert.equal(body.slug, listing.items[0].slug);
  assert.ok(body.variants.length >= 2);
  assert.ok(body.variants.every((v) => Number.isInteger(v.priceMinor) && v.available >= 0));
  assert.ok(body.images.length >= 1);
  const missing = await getJson<{ error: { code: string } }>(shop, "/api/products/no-such-product");
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, "not_found");
  const noRoute = await getJson<{ error: { code: string } }>(shop, "/api/nothing-here");
  assert.equal(noRoute.status, 404);
  assert.equal(noRoute.body.error.code, "not_found");
});

Deno.test("[catalog api] an unexpected error gives 500 with a request id and no stack", async () => {
  const broken = await openTestServices({ productCount: 10 });
  try {
    // A schema the code does not expect: every listing query now fails inside the handler.
    await broken.services.database.writer.run(sql`ALTER TABLE products RENAME TO products_gone`);
    const response = await broken.app.request("/api/products");
    assert.equal(response.status, 500);
    const text = await response.text();
    const body = JSON.parse(text);
    assert.equal(body.error.code, "internal_error");
    assert.ok(body.error.requestId);
    assert.equal(response.headers.get("x-request-id"), body.error.requestId);
    assert.doesNotMatch(text, /\bat\s+\S+\s+\(|file:\/\/|\.ts:\d+/);
  } finally {
    await broken.close().catch(() => {});
  }
});
