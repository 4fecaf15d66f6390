import { migrate } from "drizzle-orm/libsql/migrator";
import { fileURLToPath } from "node:url";
import type { Db } from "./client.ts";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

/** Applies pending drizzle-kit migrations; run against the writer (primary) only. */
export async function migrateDatabase(writer: Db): Promise<void> {
  await migrate(writer, { migrationsFolder: MIGRATIONS_FOLDER });
}
