/**
 * Raw statements for the hot paths (cart changes and checkout). Building a query with drizzle's
 * builder cost about 0.4 ms of CPU per select on this machine — more than SQLite took to run
 * it — so the statements a checkout runs are constant SQL text with `?` parameters, sent as one
 * batch through the same client (timeouts, breaker and statement logging included).
 */
import type { Client, InStatement, InValue, ResultSet, Row, TransactionMode } from "@libsql/client";
import type { Db } from "./client.ts";

/** Runs `statements` in one transaction, in one round trip, on `db`'s client. */
export async function runBatch(
  db: Db,
  statements: InStatement[],
  mode: TransactionMode = "deferred",
): Promise<ResultSet[]> {
  return await (db as Db & { $client: Client }).$client.batch(statements, mode);
}

/** Runs one statement on `db`'s client. */
export async function runStatement(db: Db, statement: InStatement): Promise<ResultSet> {
  return await (db as Db & { $client: Client }).$client.execute(statement);
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
