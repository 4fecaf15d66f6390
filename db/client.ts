/**
 * Database access: hands out a `writer` (the primary) and a `reader` (the nearest copy).
 *
 * In the embedded default both are the same local libSQL file.
 */
import { type Client, createClient } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import * as schema from "./schema.ts";

export type Db = LibSQLDatabase<typeof schema>;

export interface DatabaseSettings {
  url: string;
  authToken?: string;
  readUrl?: string;
  syncIntervalSeconds: number;
  timeoutMs: number;
}

export interface Database {
  /** Talks to the primary; every write goes here. */
  writer: Db;
  /** The nearest readable copy; may lag the writer. */
  reader: Db;
  /** Checks that the reader answers; used by readiness. */
  ping(): Promise<void>;
  close(): void;
}

export interface OpenDatabaseOptions {
  /** Called with every SQL statement drizzle sends (query counting in tests, debug logs). */
  onQuery?: (sql: string) => void;
}

/** Opens the writer and reader clients described by `settings`. */
export function openDatabase(
  settings: DatabaseSettings,
  options: OpenDatabaseOptions = {},
): Database {
  const writerClient = openClient(settings.url, settings);
  const readerClient = settings.readUrl ? openClient(settings.readUrl, settings) : writerClient;
  const logger = options.onQuery
    ? { logQuery: (query: string) => options.onQuery!(query) }
    : undefined;
  const writer = drizzle(writerClient, { schema, logger });
  const reader = readerClient === writerClient ? writer : drizzle(readerClient, { schema, logger });
  return {
    writer,
    reader,
    async ping() {
      await readerClient.execute("SELECT 1");
    },
    close() {
      readerClient.close();
      if (readerClient !== writerClient) writerClient.close();
    },
  };
}

function openClient(url: string, settings: DatabaseSettings): Client {
  if (url.startsWith("file:")) {
    ensureParentDir(url);
    return createClient({ url, timeout: settings.timeoutMs, intMode: "number" });
  }
  return createClient({
    url,
    authToken: settings.authToken,
    intMode: "number",
    fetch: fetchWithTimeout(settings.timeoutMs),
  });
}

/** A `fetch` that gives up after `timeoutMs`, so a slow database never holds a request hostage. */
function fetchWithTimeout(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return fetch(input, { ...init, signal });
  };
}

function ensureParentDir(fileUrl: string) {
  const path = fileUrl.slice("file:".length);
  const slash = path.lastIndexOf("/");
  if (slash > 0) Deno.mkdirSync(path.slice(0, slash), { recursive: true });
}
