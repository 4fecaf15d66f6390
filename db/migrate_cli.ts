// `deno task db:migrate`: applies pending migrations to DATABASE_URL (the primary).
import { ConfigError, readConfigFromEnv } from "../edge/platform/config.ts";
import { openDatabase } from "./client.ts";
import { migrateDatabase } from "./migrate.ts";

try {
  const config = readConfigFromEnv();
  const database = openDatabase(config.database);
  const started = performance.now();
  await migrateDatabase(database.writer);
  database.close();
  console.log(`migrations applied in ${Math.round(performance.now() - started)} ms`);
} catch (error) {
  console.error(error instanceof ConfigError ? `config error: ${error.message}` : error);
  Deno.exit(1);
}
