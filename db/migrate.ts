import { sql } from "drizzle-orm";
import { migrate } from "drizzle-orm/libsql/migrator";
import { fileURLToPath } from "node:url";
import type { Db } from "./client.ts";

const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

/** Applies pending drizzle-kit migrations; run against the writer (primary) only. */
export async function migrateDatabase(writer: Db): Promise<void> {
  await useWriteAheadLog(writer);
  await migrate(writer, { migrationsFolder: MIGRATIONS_FOLDER });
}

/**
 * Switches an embedded database file from the rollback journal to WAL (a setting the file
 * keeps): a commit then syncs the disk once instead of three times, which is what lets one
 * embedded shop place over a thousand orders a second, and readers never wait for the writer.
 * sqld already runs in WAL, so this is a no-op there.
 */
async function useWriteAheadLog(writer: Db): Promise<void> {
  const [row] = await writer.all<{ journal_mode: string }>(sql`PRAGMA journal_mode`);
  if (row && ["delete", "truncate", "persist"].includes(row.journal_mode)) {
    await writer.run(sql`PRAGMA journal_mode = WAL`);
  }
}
