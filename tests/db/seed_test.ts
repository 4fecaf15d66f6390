import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { openDatabase } from "../../db/client.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { generateCatalog, seedCatalog } from "../../db/seed.ts";

async function catalogFingerprint(url: string): Promise<string> {
  const database = openDatabase({ url, syncIntervalSeconds: 1, timeoutMs: 5000 });
  try {
    const hash = createHash("sha256");
    for (const table of ["categories", "products", "variants", "inventory", "product_images"]) {
      const rows = await database.reader.values(sql.raw(`SELECT * FROM ${table} ORDER BY rowid`));
      for (const row of rows) hash.update(JSON.stringify(row));
    }
    return hash.digest("hex");
  } finally {
    database.close();
  }
}

Deno.test("[seed] generateCatalog is deterministic for a seed and differs across seeds", () => {
  const first = generateCatalog({ seed: 7, productCount: 500 });
  const again = generateCatalog({ seed: 7, productCount: 500 });
  const other = generateCatalog({ seed: 8, productCount: 500 });
  assert.deepEqual(again, first);
  assert.notDeepEqual(other.products, first.products);
});

Deno.test("[seed] the default catalog is realistic in size and shape", () => {
  const catalog = generateCatalog();
  assert.ok(catalog.categories.length >= 50, `${catalog.categories.length} categories`);
  assert.equal(catalog.products.length, 10_000);
  assert.ok(catalog.variants.length >= 30_000, `${catalog.variants.length} variants`);
  assert.equal(new Set(catalog.products.map((p) => p.slug)).size, catalog.products.length);
  assert.equal(new Set(catalog.variants.map((v) => v.sku)).size, catalog.variants.length);
  for (const product of catalog.products.slice(0, 500)) {
    const own = catalog.variants.filter((v) => v.productId === product.id);
    assert.equal(product.priceMinor, Math.min(...own.map((v) => v.priceMinor)));
    assert.match(product.imageUrl, /^\/img\/v1\/[a-z-]+\/\d+-0\.svg$/);
  }
  const stock = new Map(catalog.inventory.map((i) => [i.variantId, i.onHand]));
  for (const product of catalog.products.slice(0, 500)) {
    const own = catalog.variants.filter((v) => v.productId === product.id);
    assert.equal(product.inStock, own.some((v) => (stock.get(v.id!) ?? 0) > 0));
  }
});

Deno.test("[seed] every product has several generated images and every category a department", () => {
  const catalog = generateCatalog({ productCount: 300 });
  const departments = catalog.categories.filter((category) => category.parentId === null);
  const leaves = catalog.categories.filter((category) => category.parentId !== null);
  assert.equal(departments.length, 10);
  assert.ok(leaves.every((leaf) => departments.some((d) => d.id === leaf.parentId)));
  assert.ok(catalog.products.every((p) => leaves.some((leaf) => leaf.id === p.categoryId)));
  for (const product of catalog.products) {
    const images = catalog.images.filter((image) => image.productId === product.id);
    assert.ok(images.length >= 3 && images.length <= 5, `${images.length} images`);
    assert.equal(images[0].url, product.imageUrl);
    assert.equal(new Set(images.map((image) => image.url)).size, images.length);
  }
  const firstImages = new Set(catalog.products.map((product) => product.imageUrl));
  assert.equal(firstImages.size, catalog.products.length, "no two products share a picture");
});

Deno.test("[seed] seeding two empty databases with one seed yields identical rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shop-seed-" });
  try {
    const fingerprints: string[] = [];
    for (const name of ["a", "b"]) {
      const url = `file:${dir}/${name}.db`;
      const database = openDatabase({ url, syncIntervalSeconds: 1, timeoutMs: 5000 });
      const progress: number[] = [];
      await migrateDatabase(database.writer);
      const started = performance.now();
      await seedCatalog(database.writer, { onProgress: ({ done }) => progress.push(done) });
      const ms = performance.now() - started;
      database.close();
      assert.ok(progress.length > 5, "reports progress while seeding");
      console.log(`seeded 10,000 products in ${Math.round(ms)} ms`);
      fingerprints.push(await catalogFingerprint(url));
    }
    assert.equal(fingerprints[0], fingerprints[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
