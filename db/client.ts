/**
 * Database access: hands out a `writer` (always the primary) and a `reader` (the nearest copy).
 *
 * Topologies, chosen by configuration alone:
 * - embedded default: one libSQL file is both writer and reader;
 * - sqld replica: `readUrl` is a replica's HTTP URL, the writer is the primary's URL;
 * - embedded replica: `readUrl` is a local `file:` that syncs from the primary every
 *   `syncIntervalSeconds` (@libsql/client `syncUrl`).
 *
 * A reader that fails or overruns its budget falls back to the primary (and is skipped for a
 * short cool-down); a primary that is down makes writes fail fast with
 * `DatabaseUnavailableError`, which routes answer with 503 + Retry-After.
 *
 * Remote URLs use the web client (fetch only). The native driver that `file:` URLs need is
 * imported only when such a database is opened: importing it loads a Node-API addon, which needs
 * --allow-ffi, so the edge (remote URLs only) never loads it.
 */
import {
  type Client,
  type Config as ClientConfig,
  createClient,
  type InStatement,
  LibsqlError,
  type Transaction,
} from "@libsql/client/web";
import { drizzle } from "drizzle-orm/libsql/web";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import * as schema from "./schema.ts";
import { type Breaker, createBreaker } from "../edge/platform/breaker.ts";
import type { DatabaseConfig } from "../edge/platform/config.ts";
import { UnavailableError } from "../edge/platform/errors.ts";
import { createWriteGate, serializeWrites } from "./write_gate.ts";

export type Db = LibSQLDatabase<typeof schema>;

/** What `openDatabase` opens; read from the environment by edge/platform/config.ts. */
export type DatabaseSettings = DatabaseConfig;

/** The primary (or a replica with no way to the primary) cannot be reached right now. */
export class DatabaseUnavailableError extends UnavailableError {
  override name = "DatabaseUnavailableError";
  constructor(retryAfterSeconds: number, options?: ErrorOptions) {
    super(
      "The shop cannot take changes right now; please retry shortly",
      retryAfterSeconds,
      options,
    );
  }
}

export interface Database {
  /** Talks to the primary; every write goes here. */
  writer: Db;
  /** The nearest readable copy; may lag the writer by the replication delay. */
  reader: Db;
  /**
   * The reader to use for a shopper's own data: the primary while `recentWrite` is true (their
   * write may not have replicated yet), the nearest copy otherwise.
   */
  readerFor(options: { recentWrite: boolean }): Db;
  /** Which topology is in use (for logs and readiness). */
  topology: "embedded" | "sqld-replica" | "embedded-replica";
  /** Pulls the primary's latest frames into an embedded replica; a no-op otherwise. */
  sync(): Promise<void>;
  /** Checks that the reader answers; used by readiness. */
  ping(): Promise<void>;
  /** Throws `DatabaseUnavailableError` at once while the primary is known to be unreachable. */
  assertWritable(): void;
  close(): void;
}

export interface OpenDatabaseOptions {
  /** Called with every SQL statement drizzle sends (query counting in tests, debug logs). */
  onQuery?: (sql: string) => void;
  /** Called when a copy starts or stops failing (logged once per outage, not per request). */
  onHealthChange?: (
    event: { target: "primary" | "replica"; healthy: boolean; error?: unknown },
  ) => void;
  /** Called after every call to the primary, with its duration (cross-region accounting). */
  onPrimaryCall?: (elapsedMs: number) => void;
  now?: () => number;
}

/** After a connection failure, a copy is skipped (replica) or refused fast (primary) this long. */
const COOL_DOWN_MS = 2000;
/** Writes that may wait for a remote primary at once (db/write_gate.ts); more answer 503. */
const MAX_QUEUED_WRITES = 2000;

/** Opens the writer and reader clients described by `settings`. */
export function openDatabase(
  settings: DatabaseSettings,
  options: OpenDatabaseOptions = {},
): Database {
  const now = options.now ?? Date.now;
  const primaryClient = openRemoteOrFile(settings.url, settings, settings.timeoutMs);
  const embedded = settings.url.startsWith("file:");
  if (embedded) tuneFileDatabase(primaryClient);
  // While the primary is unreachable, a background probe (not a shopper's write) finds out when
  // it is back, so a partition that swallows requests costs one timeout, not one per cool-down.
  const primaryBreaker = breakerFor(
    "primary",
    options,
    now,
    () => primaryClient.execute("SELECT 1"),
  );
  const guardedPrimary = guardPrimary(
    embedded ? primaryClient : serializeWrites(
      primaryClient,
      createWriteGate({ maxQueue: MAX_QUEUED_WRITES, maxWaitMs: settings.timeoutMs }),
    ),
    primaryBreaker,
    options.onPrimaryCall,
  );

  let topology: Database["topology"] = "embedded";
  let replicaClient: Client | undefined;
  if (settings.readUrl?.startsWith("file:")) {
    topology = "embedded-replica";
    ensureParentDir(settings.readUrl);
    replicaClient = openFileClient({
      url: settings.readUrl,
      syncUrl: settings.url,
      syncInterval: settings.syncIntervalSeconds,
      authToken: settings.authToken,
      intMode: "number",
    });
  } else if (settings.readUrl) {
    topology = "sqld-replica";
    replicaClient = openRemoteOrFile(
      settings.readUrl,
      settings,
      settings.replicaTimeoutMs ?? Math.min(500, settings.timeoutMs),
    );
  }
  const readerClient = replicaClient
    ? withFallback(replicaClient, guardedPrimary, breakerFor("replica", options, now))
    : guardedPrimary;

  const writer = drizzle(logStatements(guardedPrimary, options.onQuery), { schema });
  const reader = readerClient === guardedPrimary
    ? writer
    : drizzle(logStatements(readerClient, options.onQuery), { schema });

  return {
    writer,
    reader,
    readerFor: ({ recentWrite }) => recentWrite ? writer : reader,
    topology,
    async sync() {
      if (topology === "embedded-replica") await replicaClient!.sync();
    },
    async ping() {
      await readerClient.execute("SELECT 1");
    },
    assertWritable() {
      if (primaryBreaker.isOpen()) {
        throw new DatabaseUnavailableError(primaryBreaker.retryAfterSeconds());
      }
    },
    close() {
      replicaClient?.close();
      primaryClient.close();
    },
  };
}

/** Remembers a recent connection failure so callers skip a dead copy instead of waiting on it. */
function breakerFor(
  target: "primary" | "replica",
  options: OpenDatabaseOptions,
  now: () => number,
  probe?: () => Promise<unknown>,
): Breaker {
  return createBreaker({
    coolDownMs: COOL_DOWN_MS,
    now,
    probe,
    onHealthChange: (healthy, error) => options.onHealthChange?.({ target, healthy, error }),
  });
}

/** True for failures of the connection (refused, reset, timed out), not of the SQL. */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof LibsqlError) return !error.code.startsWith("SQLITE_");
  if (error instanceof DOMException) return true; // TimeoutError / AbortError from our fetch budget
  return error instanceof TypeError; // "fetch failed": refused or reset
}

/** Turns connection failures of the primary into fast `DatabaseUnavailableError`s. */
function guardPrimary(
  client: Client,
  breaker: Breaker,
  onCall?: (elapsedMs: number) => void,
): Client {
  return intercept(client, async (call) => {
    if (breaker.isOpen()) {
      throw new DatabaseUnavailableError(breaker.retryAfterSeconds());
    }
    const started = performance.now();
    try {
      const result = await call(client);
      breaker.succeed();
      return result;
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      breaker.fail(error);
      throw new DatabaseUnavailableError(breaker.retryAfterSeconds(), { cause: error });
    } finally {
      onCall?.(performance.now() - started);
    }
  });
}

/** Reads from `replica`, falling back to `primary` when the replica fails or overruns. */
function withFallback(replica: Client, primary: Client, breaker: Breaker): Client {
  return intercept(replica, async (call) => {
    if (!breaker.isOpen()) {
      try {
        const result = await call(replica);
        breaker.succeed();
        return result;
      } catch (error) {
        if (!isConnectionFailure(error)) throw error;
        breaker.fail(error);
      }
    }
    return await call(primary);
  });
}

/**
 * Reports every statement sent through `client` (drizzle's logger misses the statements of a
 * batch and raw statements), including those of interactive transactions.
 */
function logStatements<T extends Client | Transaction>(
  client: T,
  onQuery: ((sql: string) => void) | undefined,
): T {
  if (!onQuery) return client;
  const log = (statement: InStatement) =>
    onQuery(typeof statement === "string" ? statement : statement.sql);
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (property === "execute") {
        return (statement: InStatement, ...rest: unknown[]) => {
          log(statement);
          return value.call(target, statement, ...rest);
        };
      }
      if (property === "batch") {
        return (statements: InStatement[], ...rest: unknown[]) => {
          statements.forEach(log);
          return value.call(target, statements, ...rest);
        };
      }
      if (property === "transaction") {
        return async (...args: unknown[]) =>
          logStatements(await value.apply(target, args) as Transaction, onQuery);
      }
      return value.bind(target);
    },
  });
}

type ClientCall = (client: Client) => Promise<unknown>;

/** Wraps the statement-running methods of a client (the ones drizzle uses) with `around`. */
function intercept(
  client: Client,
  around: (call: ClientCall) => Promise<unknown>,
): Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (
        property === "execute" || property === "batch" || property === "transaction" ||
        property === "executeMultiple"
      ) {
        return (...args: unknown[]) =>
          around((chosen) =>
            (chosen[property] as (...a: unknown[]) => Promise<unknown>).apply(chosen, args)
          );
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Connections an embedded file client keeps (libSQL's default pool size, made explicit). */
const FILE_CONNECTIONS = 20;

/**
 * An embedded file runs in WAL mode with `synchronous = NORMAL`: a commit appends to the log
 * without waiting for the disk, so the event loop never stalls on fsync (on a busy disk a commit
 * took 6 ms with the default rollback journal and 0.4 ms like this — the difference between
 * 150 and over 1,000 orders a second). A committed write survives the process dying (SIGKILL);
 * only an OS crash or power cut may roll back the last commits. `synchronous` is a setting of
 * each connection, so every connection of the pool is opened here, in one tick, and set before
 * it serves anything else (a connection reopened later keeps the safer default).
 */
function tuneFileDatabase(client: Client): void {
  for (let i = 0; i < FILE_CONNECTIONS; i++) {
    const pragmas = i === 0
      ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
      : "PRAGMA synchronous = NORMAL;";
    client.executeMultiple(pragmas).catch(() => {}); // untuned is slower, never wrong
  }
}

function openRemoteOrFile(url: string, settings: DatabaseSettings, timeoutMs: number): Client {
  if (url.startsWith("file:")) {
    ensureParentDir(url);
    return openFileClient({
      url,
      timeout: settings.timeoutMs,
      intMode: "number",
      concurrency: FILE_CONNECTIONS,
    });
  }
  return createClient({
    url,
    authToken: settings.authToken,
    intMode: "number",
    fetch: fetchWithTimeout(timeoutMs),
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

/**
 * A `file:` client whose native driver is imported now, in the background; statements wait for
 * it. An import failure (no FFI permission) surfaces at the first statement, which is start-up.
 */
function openFileClient(config: ClientConfig): Client {
  let client: Client | undefined;
  let closed = false;
  const ready = import("@libsql/client").then(({ createClient: createNativeClient }) => {
    client = createNativeClient(config);
    if (closed) client.close();
    return client;
  });
  ready.catch(() => {}); // reported to whoever runs the first statement
  return new Proxy({} as Client, {
    get(_target, property) {
      switch (property) {
        case "protocol":
          return "file";
        case "closed":
          return closed;
        case "close":
          return () => {
            closed = true;
            client?.close();
          };
        case "reconnect":
          return () => client?.reconnect();
        case "then": // not a promise: `await client` must not wait on it
          return undefined;
      }
      if (typeof property !== "string") return undefined;
      // Every other member (execute, batch, migrate, transaction, executeMultiple, sync) is async.
      return (...args: unknown[]) =>
        ready.then((native) =>
          (native[property as keyof Client] as (...a: unknown[]) => unknown).apply(native, args)
        );
    },
  });
}

function ensureParentDir(fileUrl: string) {
  const path = fileUrl.slice("file:".length);
  if (path.includes("/")) mkdirSync(dirname(path), { recursive: true });
}
