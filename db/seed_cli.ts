// `deno task db:seed`: migrates, then seeds the demo catalog if the database has no products.
import { ConfigError, readConfigFromEnv } from "../edge/platform/config.ts";
import { openDatabase } from "./client.ts";
import { migrateDatabase } from "./migrate.ts";
import { isCatalogEmpty, seedCatalog } from "./seed.ts";

try {
  const config = readConfigFromEnv();
  const database = openDatabase(config.database);
  await migrateDatabase(database.writer);
  if (!(await isCatalogEmpty(database.writer))) {
    console.log("catalog already has products; nothing to seed");
  } else {
    const started = performance.now();
    const catalog = await seedCatalog(database.writer, {
      onProgress: ({ table, done, total }) => {
        if (done === total) console.log(`seeded ${table}: ${total} rows`);
      },
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    console.log(
      `seeded ${catalog.categories.length} categories, ${catalog.products.length} products, ` +
        `${catalog.variants.length} variants in ${seconds} s`,
    );
  }
  database.close();
} catch (error) {
  console.error(error instanceof ConfigError ? `config error: ${error.message}` : error);
  Deno.exit(1);
}
