import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { countProducts, listProducts, type ProductSort } from "../../db/catalog.ts";
import { openDatabase } from "../../db/client.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { categories, products } from "../../db/schema.ts";

/** A migrated database with a handful of products whose ranking is known in advance. */
async function withSearchCatalog(fn: (db: ReturnType<typeof openDatabase>) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "shop-search-" });
  const database = openDatabase({
    url: `file:${dir}/shop.db`,
    syncIntervalSeconds: 1,
    timeoutMs: 5000,
  });
  try {
    await migrateDatabase(database.writer);
    await database.writer.insert(categories).values([
      { id: 1, slug: "footwear", name: "Footwear" },
      { id: 2, slug: "footwear-boots", name: "Boots", parentId: 1 },
      { id: 3, slug: "apparel-socks", name: "Socks", parentId: 4 },
      { id: 4, slug: "apparel", name: "Apparel" },
      { id: 5, slug: "outdoor-tents", name: "Tents" },
    ]);
    const product = (id: number, name: string, categoryId: number, brand = "Kestrel") => ({
      id,
      slug: `p-${id}`,
      categoryId,
      name,
      brand,
      description: "",
      priceMinor: 1000 * id,
      currency: "USD",
      inStock: true,
      imageUrl: "",
      popularity: id,
      createdAt: 0,
      updatedAt: 0,
    });
    await database.writer.insert(products).values([
      product(1, "Alpine Hiking Boot", 2),
      product(2, "Merino Boot Socks", 3),
      product(3, "Granite Chukka", 2),
      product(4, "Summit Tent", 5),
      product(5, "Harbor Dome Tent", 5, "Northwind"),
    ]);
    await fn(database);
  } finally {
    database.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function search(
  db: ReturnType<typeof openDatabase>,
  query: string,
  sort: ProductSort = "relevance",
) {
  const page = await listProducts(db.reader, { query, sort, limit: 10 });
  return page.items.map((item) => item.name);
}

Deno.test("[search] plurals find singular names, and names find plurals", async () => {
  await withSearchCatalog(async (db) => {
    assert.deepEqual((await search(db, "tents")).sort(), ["Harbor Dome Tent", "Summit Tent"]);
    assert.ok((await search(db, "boots")).includes("Alpine Hiking Boot"));
    assert.ok((await search(db, "sock")).includes("Merino Boot Socks"));
    assert.deepEqual(await search(db, "hiking boots"), ["Alpine Hiking Boot"]);
  });
});

Deno.test("[search] a category or department name finds its products, a brand finds its own", async () => {
  await withSearchCatalog(async (db) => {
    assert.ok((await search(db, "boots")).includes("Granite Chukka"), "category name");
    assert.deepEqual((await search(db, "footwear")).sort(), [
      "Alpine Hiking Boot",
      "Granite Chukka",
    ]);
    assert.deepEqual(await search(db, "northwind"), ["Harbor Dome Tent"]);
  });
});

Deno.test("[search] results are ranked by relevance unless another sort is asked for", async () => {
  await withSearchCatalog(async (db) => {
    // Name and category match > name only > category only.
    assert.deepEqual(await search(db, "boots"), [
      "Alpine Hiking Boot",
      "Merino Boot Socks",
      "Granite Chukka",
    ]);
    assert.deepEqual(await search(db, "boots", "price_desc"), [
      "Granite Chukka",
      "Merino Boot Socks",
      "Alpine Hiking Boot",
    ]);
    const first = await listProducts(db.reader, { query: "boots", sort: "relevance", limit: 2 });
    const rest = await listProducts(db.reader, {
      query: "boots",
      sort: "relevance",
      limit: 2,
      cursor: first.nextCursor!,
    });
    assert.deepEqual(
      rest.items.map((item) => item.name),
      ["Granite Chukka"],
      "pages go on by rank",
    );
    assert.deepEqual(
      await countProducts(db.reader, {
        query: "boots",
        sort: "relevance",
        limit: 2,
        cursor: first.nextCursor!,
      }),
      { total: 3, offset: 2 },
    );
  });
});

Deno.test("[search] the index follows renamed products and categories and deleted products", async () => {
  await withSearchCatalog(async (db) => {
    await db.writer.update(products).set({ name: "Summit Yurt" }).where(eq(products.id, 4));
    assert.deepEqual(await search(db, "yurt"), ["Summit Yurt"]);
    await db.writer.update(categories).set({ name: "Shelters" }).where(eq(categories.id, 5));
    assert.deepEqual((await search(db, "shelters")).sort(), ["Harbor Dome Tent", "Summit Yurt"]);
    await db.writer.delete(products).where(eq(products.id, 5));
    assert.deepEqual(await search(db, "dome"), []);
  });
});
