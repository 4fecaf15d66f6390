/**
 * Database access: hands out a `writer` (always the primary) and a `reader` (the nearest copy).
 *
 * Topologies, chosen by configuration alone:
 * - embedded default: one libSQL file is both writer and reader;
 * - sqld replica: `readUrl` is a replica's HTTP URL, the writer is the primary's URL;
 * - embedded replica: `readUrl` is a local `file:` that syncs from the primary every
 *   `syncIntervalSeconds` (@libsql/client `syncUrl`).
 *
 * Reads never depend on the primary being alive. A replica read that fails or overruns its short
 * budget falls back to the primary (and the replica is skipped for a short cool-down) only while
 * the primary answers; with the primary down, the replica gets the full database budget instead,
 * since it is the only copy left. Only when no copy answers does a read fail, with
 * `DatabaseUnavailableError` (503 + Retry-After), which the edge cache answers with stale content
 * where it has some. A primary that is down makes writes fail fast with the same error.
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
import { dirname } from "node:path";
import * as schema from "./schema.ts";
import { type Breaker, createBreaker } from "../edge/platform/breaker.ts";
import type { DatabaseConfig } from "../edge/platform/config.ts";
import { ensurePrivateDir, ensurePrivateFile } from "../edge/platform/files.ts";
import { UnavailableError } from "../edge/platform/errors.ts";
import { createWriteGate, serializeWrites } from "./write_gate.ts";

export type Db = LibSQLDatabase<typeof schema>;

/** What `openDatabase` opens; read from the environment by edge/platform/config.ts. */
export type DatabaseSettings = DatabaseConfig;

/** The primary (or a replica with no way to the primary) cannot be reached right now. */
export class DatabaseUnavailableError extends UnavailableError {
  override name = "DatabaseUnavailableError";
  constructor(
    retryAfterSeconds: number,
    options: ErrorOptions & { reads?: boolean } = {},
  ) {
    super(
      options.reads
        ? "The shop cannot show this right now; please retry shortly"
        : "The shop cannot take changes right now; please retry shortly",
      retryAfterSeconds,
      options,
    );
  }
}

/** Which copies answer reads right now (reported on changes, for one log line per outage). */
export type ReadPath = "normal" | "replica-only" | "none";

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
  /** Checks that one copy answers by itself (no fallback); used by readiness. */
  ping(target: "primary" | "replica"): Promise<void>;
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
  /** Called when reads start or stop depending on the replica alone, or on no copy at all. */
  onReadPathChange?: (path: ReadPath) => void;
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
  const replica = openReplica(settings);
  const quickPrimary = replica
    ? openRemoteOrFile(settings.url, settings, replicaBudget(settings))
    : undefined;
  const timedQuickPrimary = quickPrimary && options.onPrimaryCall
    ? timeCalls(quickPrimary, options.onPrimaryCall)
    : quickPrimary;
  const reads = replica
    ? replicaFirstReads({
      replica,
      primary: guardedPrimary,
      quickPrimary: timedQuickPrimary!,
      primaryBreaker,
      replicaBreaker: breakerFor("replica", options, now),
      onReadPathChange: options.onReadPathChange,
    })
    : undefined;

  const writer = drizzle(logStatements(guardedPrimary, options.onQuery), { schema });
  const reader = reads
    ? drizzle(logStatements(reads.replicaFirst, options.onQuery), { schema })
    : writer;
  const primaryFirstReader = reads
    ? drizzle(logStatements(reads.primaryFirst, options.onQuery), { schema })
    : writer;

  return {
    writer,
    reader,
    readerFor: ({ recentWrite }) => recentWrite ? primaryFirstReader : reader,
    topology: replica?.topology ?? "embedded",
    async sync() {
      if (replica?.topology === "embedded-replica") await replica.patient.sync();
    },
    async ping(target) {
      const client = target === "replica" ? replica?.patient : guardedPrimary;
      await client?.execute("SELECT 1");
    },
    assertWritable() {
      if (primaryBreaker.isOpen()) {
        throw new DatabaseUnavailableError(primaryBreaker.retryAfterSeconds());
      }
    },
    close() {
      replica?.close();
      quickPrimary?.close();
      primaryClient.close();
    },
  };
}

interface Replica {
  topology: "sqld-replica" | "embedded-replica";
  /** Reads within the replica budget (then the primary is tried). */
  fast: Client;
  /** Reads within the full database budget, for when no other copy can answer. */
  patient: Client;
  close(): void;
}

function replicaBudget(settings: DatabaseSettings): number {
  return settings.replicaTimeoutMs ?? Math.min(500, settings.timeoutMs);
}

function openReplica(settings: DatabaseSettings): Replica | undefined {
  if (settings.readUrl?.startsWith("file:")) {
    // libsql must create an embedded replica's files itself (an empty file has no WAL index to
    // sync into); the 0700 directory keeps them from other users.
    preparePrivateFile(settings.readUrl, { createFile: false });
    const local = openFileClient({
      url: settings.readUrl,
      syncUrl: settings.url,
      syncInterval: settings.syncIntervalSeconds,
      authToken: settings.authToken,
      intMode: "number",
    });
    return {
      topology: "embedded-replica",
      fast: local,
      patient: local,
      close: () => local.close(),
    };
  }
  if (!settings.readUrl) return undefined;
  const fast = openRemoteOrFile(settings.readUrl, settings, replicaBudget(settings));
  const patient = openRemoteOrFile(settings.readUrl, settings, settings.timeoutMs);
  return {
    topology: "sqld-replica",
    fast,
    patient,
    close() {
      fast.close();
      patient.close();
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

/** True when our own fetch budget ran out (the copy may be slow rather than down). */
function isTimeout(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof DOMException) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** True for failures of the connection (refused, reset, timed out), not of the SQL. */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof LibsqlError) return !error.code.startsWith("SQLITE_");
  if (error instanceof DOMException) return true; // TimeoutError / AbortError from our fetch budget
  return error instanceof TypeError; // "fetch failed": refused or reset
}

/**
 * Turns connection failures of the primary into fast `DatabaseUnavailableError`s, also those in
 * the middle of a transaction (the primary dying between a transaction's statements).
 */
function guardPrimary(
  client: Client,
  breaker: Breaker,
  onCall?: (elapsedMs: number) => void,
): Client {
  async function guard<T>(run: () => Promise<T>, proves = true): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      if (proves) breaker.succeed();
      return result;
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      breaker.fail(error);
      throw new DatabaseUnavailableError(breaker.retryAfterSeconds(), { cause: error });
    } finally {
      onCall?.(performance.now() - started);
    }
  }
  return intercept(client, (call, method) => {
    if (!breaker.allow()) throw new DatabaseUnavailableError(breaker.retryAfterSeconds());
    // Opening a transaction over HTTP sends nothing yet: only its statements prove the primary.
    return guard(() => call(client), method !== "transaction");
  }, (transaction) => guardTransaction(transaction, guard));
}

/**
 * The statements, commit and rollback of a transaction, each run through `guard`. A rollback
 * proves nothing (over a broken stream it succeeds without the server), so it never marks the
 * primary healthy.
 */
function guardTransaction(
  transaction: Transaction,
  guard: <T>(run: () => Promise<T>, proves?: boolean) => Promise<T>,
): Transaction {
  const guarded = new Set(["execute", "batch", "executeMultiple", "commit", "rollback"]);
  return new Proxy(transaction, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (typeof property === "string" && guarded.has(property)) {
        return (...args: unknown[]) =>
          guard(() => value.apply(target, args), property !== "rollback");
      }
      return value.bind(target);
    },
  });
}

/** A read that found no copy able to answer it (the caller turns it into a 503). */
const NO_ANSWER = Symbol("no answer");

/**
 * The two ways to read with a replica: `replicaFirst` (the catalog) and `primaryFirst` (a
 * shopper's own data right after their write). Each tries the copies within the replica budget
 * first (its preferred copy, then the other, skipping one whose breaker is open), then the
 * replica with the full budget, then the primary with the full budget: a read never waits long
 * on a primary that hangs while the replica can answer, and when the primary is down the replica
 * gets all the time it needs, being the only copy left. Which copies answer is reported on each
 * change (one log line).
 */
function replicaFirstReads(parts: {
  replica: Replica;
  primary: Client;
  /** The primary within the replica budget, for reads only. */
  quickPrimary: Client;
  primaryBreaker: Breaker;
  replicaBreaker: Breaker;
  onReadPathChange?: (path: ReadPath) => void;
}): { replicaFirst: Client; primaryFirst: Client } {
  const { replica, primary, quickPrimary, primaryBreaker, replicaBreaker } = parts;
  // The quick primary has its own breaker, with no log lines (the writes' breaker reports the
  // outage): a primary that hangs costs one read per cool-down the budget, not every read.
  const quickBreaker = createBreaker({ coolDownMs: COOL_DOWN_MS });
  let path: ReadPath = "normal";
  let lastFailure: unknown;

  function answered(result: unknown): unknown {
    const next: ReadPath = primaryBreaker.healthy ? "normal" : "replica-only";
    if (next !== path) parts.onReadPathChange?.(next);
    path = next;
    return result;
  }

  /** Runs `call` on one copy; a connection failure trips `breaker` and yields `NO_ANSWER`. */
  async function attempt(call: ClientCall, client: Client, breaker?: Breaker): Promise<unknown> {
    try {
      const result = await call(client);
      breaker?.succeed();
      return result;
    } catch (error) {
      // The guarded primary reports its own failures as DatabaseUnavailableError.
      if (!isConnectionFailure(error) && !(error instanceof DatabaseUnavailableError)) throw error;
      breaker?.fail(error);
      lastFailure = error;
      return NO_ANSWER;
    }
  }

  /** Tries `steps` in order; the first answer wins, none is a 503 for reads. */
  async function firstAnswer(steps: Array<() => Promise<unknown>>) {
    for (const step of steps) {
      const result = await step();
      if (result !== NO_ANSWER) return answered(result);
    }
    if (path !== "none") parts.onReadPathChange?.("none");
    path = "none";
    const retryAfter = primaryBreaker.isOpen() ? primaryBreaker.retryAfterSeconds() : 1;
    throw new DatabaseUnavailableError(retryAfter, { reads: true, cause: lastFailure });
  }

  const skip = () => Promise.resolve(NO_ANSWER);
  /** The steps every read shares: the copies within their short budgets, then the full ones. */
  function steps(call: ClientCall, order: "replica" | "primary") {
    const up = () => !primaryBreaker.isOpen();
    const fastReplica = () =>
      up() && replicaBreaker.allow() ? attempt(call, replica.fast, replicaBreaker) : skip();
    const quick = async () => {
      if (!up() || !quickBreaker.allow()) return NO_ANSWER;
      const result = await attempt(call, quickPrimary, quickBreaker);
      // Refused is down, for writes too; a short budget running out only says "slow".
      if (result === NO_ANSWER && !isTimeout(lastFailure)) primaryBreaker.fail(lastFailure);
      return result;
    };
    return [
      ...(order === "replica" ? [fastReplica, quick] : [quick]),
      // The replica with the full budget: the only copy left when the primary is down (then
      // tried whatever its breaker says), and better than waiting on a primary that hangs
      // (paused, overloaded) when the replica is merely busy.
      () =>
        !up() || replicaBreaker.allow() ? attempt(call, replica.patient, replicaBreaker) : skip(),
      // The primary with the full budget, when the replica could not answer at all.
      () => up() ? attempt(call, primary) : skip(),
    ];
  }
  const replicaFirst = intercept(replica.fast, (call) => firstAnswer(steps(call, "replica")));
  const primaryFirst = intercept(primary, (call) => firstAnswer(steps(call, "primary")));
  return { replicaFirst, primaryFirst };
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

/** Reports the duration of every call through `client` (a read-only primary client's calls). */
function timeCalls(client: Client, onCall: (elapsedMs: number) => void): Client {
  return intercept(client, async (call) => {
    const started = performance.now();
    try {
      return await call(client);
    } finally {
      onCall(performance.now() - started);
    }
  });
}

/** Wraps the statement-running methods of a client (the ones drizzle uses) with `around`. */
function intercept(
  client: Client,
  around: (call: ClientCall, method: string) => Promise<unknown>,
  wrapTransaction?: (transaction: Transaction) => Transaction,
): Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (
        property === "execute" || property === "batch" || property === "transaction" ||
        property === "executeMultiple"
      ) {
        return async (...args: unknown[]) => {
          const result = await around(
            (chosen) =>
              (chosen[property] as (...a: unknown[]) => Promise<unknown>).apply(chosen, args),
            property,
          );
          return property === "transaction" && wrapTransaction
            ? wrapTransaction(result as Transaction)
            : result;
        };
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
    preparePrivateFile(url);
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

/** Creates a `file:` database 0600 in a 0700 directory before the driver opens it. */
function preparePrivateFile(fileUrl: string, options = { createFile: true }) {
  const path = fileUrl.slice("file:".length).replace(/^\/\/(?=\/)/, "").replace(/\?.*$/, "");
  if (path === "" || path === ":memory:") return;
  if (path.includes("/")) ensurePrivateDir(dirname(path));
  if (options.createFile) ensurePrivateFile(path);
}
