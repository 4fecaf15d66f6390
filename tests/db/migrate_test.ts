import assert from "node:assert/strict";
import { openDatabase } from "../../db/client.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { sql } from "drizzle-orm";

async function withEmptyDatabase(fn: (url: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "shop-migrate-" });
  try {
    await fn(`file:${dir}/shop.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const settings = { syncIntervalSeconds: 1, timeoutMs: 2000 };

Deno.test("[migrate] creates every table and index on an empty database, and reruns as a no-op", async () => {
  await withEmptyDatabase(async (url) => {
    const database = openDatabase({ url, ...settings });
    try {
      await migrateDatabase(database.writer);
      const objects = await database.writer.all<{ name: string }>(
        sql`SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name`,
      );
      const names = new Set(objects.map((row) => row.name));
      for (
        const table of [
          "categories",
          "products",
          "variants",
          "inventory",
          "product_images",
          "users",
          "refresh_tokens",
          "orders",
          "order_items",
          "order_status_history",
          "idempotency_keys",
          "products_fts",
        ]
      ) {
        assert.ok(names.has(table), `table ${table} exists`);
      }
      for (
        const index of [
          "products_slug_unique",
          "products_category_price_idx",
          "orders_user_created_idx",
          "users_email_unique",
        ]
      ) {
        assert.ok(names.has(index), `index ${index} exists`);
      }
      await migrateDatabase(database.writer);
      const after = await database.writer.all(
        sql`SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`,
      );
      assert.equal(after.length, objects.length);
    } finally {
      database.close();
    }
  });
});

Deno.test("[migrate] the schema enforces non-negative stock and prices", async () => {
  await withEmptyDatabase(async (url) => {
    const database = openDatabase({ url, ...settings });
    try {
      await migrateDatabase(database.writer);
      const db = database.writer;
      await db.run(sql`INSERT INTO categories (id, slug, name) VALUES (1, 'c', 'C')`);
      await assert.rejects(
        db.run(
          sql`INSERT INTO products (id, slug, category_id, name, description, brand, price_minor, currency, in_stock, image_url, created_at, updated_at) VALUES (1, 'p', 1, 'P', '', 'B', -1, 'USD', 1, '', 0, 0)`,
        ),
        (error: Error) => /CHECK constraint failed/.test(String((error.cause as Error)?.message)),
      );
    } finally {
      database.close();
    }
  });
});
