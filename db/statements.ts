/**
 * Raw statements for the hot paths (cart changes and checkout). Building a query with drizzle's
 * builder cost about 0.4 ms of CPU per select on this machine — more than SQLite took to run
 * it — so the statements a checkout runs are constant SQL text with `?` parameters, sent as one
 * batch through the same client (timeouts, breaker and statement logging included).
 */
import type { Client, InStatement, InValue, ResultSet, Row, TransactionMode } from "@libsql/client";
import type { Db } from "./client.ts";
import { backoffDelay } from "../edge/platform/backoff.ts";

/**
 * Runs `statements` in one transaction, in one round trip, on `db`'s client. A sqld primary
 * answers `SQLITE_BUSY` when concurrent writers contend for its lock; the whole batch was rolled
 * back then, so it is retried a few times with backoff before the error is let through.
 */
export async function runBatch(
  db: Db,
  statements: InStatement[],
  mode: TransactionMode = "deferred",
): Promise<ResultSet[]> {
  const client = (db as Db & { $client: Client }).$client;
  return await retryWhileBusy(() => client.batch(statements, mode));
}

/** Runs one statement on `db`'s client (retried like `runBatch` while the primary is busy). */
export async function runStatement(db: Db, statement: InStatement): Promise<ResultSet> {
  const client = (db as Db & { $client: Client }).$client;
  return await retryWhileBusy(() => client.execute(statement));
}

const BUSY_ATTEMPTS = 6;

async function retryWhileBusy<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= BUSY_ATTEMPTS || !isBusy(error)) throw error;
      const delay = backoffDelay(attempt, { baseMs: 5, maxMs: 200 });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

/** `?, ?, ?` for `count` parameters. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/** A statement from SQL text and its arguments. */
export function statement(sql: string, args: InValue[] = []): InStatement {
  return { sql, args };
}

/** Reads a numeric column of a raw row. */
export function num(row: Row, column: string): number {
  return Number(row[column]);
}

/** Reads a text column of a raw row. */
export function str(row: Row, column: string): string {
  return String(row[column]);
}
