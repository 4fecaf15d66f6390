/**
 * Fixtures for edge-cache tests: a real libSQL origin, edge nodes with their own L0 and Deno KV
 * file, and a real Redis behind the local Upstash gateway that records every command it relays.
 */
import { Hono } from "hono";
import { Redis } from "@upstash/redis";
import { type Database, openDatabase } from "../../../db/client.ts";
import { migrateDatabase } from "../../../db/migrate.ts";
import { type GeneratedCatalog, seedCatalog } from "../../../db/seed.ts";
import { createEdgeCache, type EdgeCache } from "../../../edge/cache/cache.ts";
import { type CacheConfig, loadConfig } from "../../../edge/platform/config.ts";
import { createLogger, type Logger } from "../../../edge/platform/log.ts";
import { createRedisClient } from "../../../edge/platform/redis.ts";
import { adminProductsApi } from "../../../routes/admin/products.ts";
import { catalogApi } from "../../../routes/catalog/api.ts";
import { catalogPages } from "../../../routes/catalog/pages.tsx";
import { handleError, handleNotFound } from "../../../routes/errors.ts";
import { type RedisService, startRedis } from "../../services/redis.ts";
import { createUpstashGatewayHandler } from "../../services/upstash_gateway.ts";

export interface Origin extends AsyncDisposable {
  dir: string;
  database: Database;
  catalog: GeneratedCatalog;
  /** SQL statements sent so far. */
  queries: string[];
  close(): Promise<void>;
}

/** A migrated, seeded libSQL file in a temp dir, counting every statement. */
export async function openOrigin(options: { productCount?: number } = {}): Promise<Origin> {
  const dir = await Deno.makeTempDir({ prefix: "cache-origin-" });
  const queries: string[] = [];
  const database = openDatabase(
    loadConfig({ DATA_DIR: dir }).database,
    { onQuery: (sql) => queries.push(sql) },
  );
  await migrateDatabase(database.writer);
  const catalog = await seedCatalog(database.writer, {
    productCount: options.productCount ?? 200,
  });
  countBatchedQueries(database, queries);
  queries.length = 0;
  async function close() {
    database.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return { dir, database, catalog, queries, close, [Symbol.asyncDispose]: close };
}

/**
 * drizzle's query logger does not see the statements of `db.batch` (a product page is one
 * batch of three): record them too, so a product page load counts as the queries it sends.
 */
function countBatchedQueries(database: Database, queries: string[]): void {
  for (const db of new Set([database.reader, database.writer])) {
    const batch = db.batch.bind(db);
    db.batch = ((statements: Parameters<typeof batch>[0]) => {
      for (const statement of statements) {
        queries.push((statement as unknown as { toSQL(): { sql: string } }).toSQL().sql);
      }
      return batch(statements);
    }) as unknown as typeof db.batch;
  }
}

export interface SharedRedis extends AsyncDisposable {
  redis: RedisService;
  url: string;
  token: string;
  /** Every command relayed, as arrays of strings (EVAL scripts included). */
  commands: string[][];
  client(): Redis;
  stop(): Promise<void>;
}

/** Real redis-server behind the Upstash gateway, with a recording wrapper around the gateway. */
export async function startSharedRedis(): Promise<SharedRedis> {
  const redis = await startRedis();
  const token = "cache-test-token";
  const handler = createUpstashGatewayHandler({ redisPort: redis.port, token });
  const commands: string[][] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      if (request.method === "POST") {
        const body = await request.clone().json().catch(() => null);
        const path = new URL(request.url).pathname;
        if (Array.isArray(body)) {
          if (path === "/" || path === "") commands.push(body.map(String));
          else for (const command of body) commands.push(command.map(String));
        }
      }
      return handler(request);
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  async function stop() {
    await server.shutdown();
    await handler.close();
    await redis.stop().catch(() => {});
  }
  return {
    redis,
    url,
    token,
    commands,
    client: () => createRedisClient({ url, token }, { timeoutMs: 5000 }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** `kv` with entry reads and writes answering `ms` late, as on a CPU busy with other work. */
export function slowedKv(kv: Deno.Kv, ms: number): Deno.Kv {
  const late = <T>(answer: Promise<T>) =>
    answer.then((value) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms)));
  return new Proxy(kv, {
    get(target, property) {
      if (property === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => late(commit());
          return op;
        };
      }
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (property === "get" || property === "set") {
        return (...args: unknown[]) => late(value.apply(target, args));
      }
      return value.bind(target);
    },
  });
}

/** A controllable cache clock. */
export function createClock(start = Date.UTC(2026, 5, 1)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Test cache settings: no jitter, short waits; override anything. */
export function testCacheConfig(overrides: Partial<CacheConfig> = {}): CacheConfig {
  return { ...loadConfig({}).cache, jitter: 0, ...overrides };
}

export interface EdgeNode extends AsyncDisposable {
  name: string;
  cache: EdgeCache;
  kv: Deno.Kv;
  app: Hono;
  logLines: string[];
  close(): Promise<void>;
}

/** One edge node: its own L0 and KV file, the shared Redis (if any), the shared origin. */
export async function openEdgeNode(
  origin: Origin,
  options: {
    name: string;
    redis?: SharedRedis;
    now?: () => number;
    config?: Partial<CacheConfig>;
  },
): Promise<EdgeNode> {
  const kvDir = await Deno.makeTempDir({ prefix: `cache-kv-${options.name}-` });
  const kv = await Deno.openKv(`${kvDir}/kv.sqlite`);
  const logLines: string[] = [];
  const logger: Logger = createLogger("info", { write: (line) => logLines.push(line) });
  const config = testCacheConfig({ tierBudgetMs: 500, ...options.config });
  // The client's own timeout must not undercut the tier budget a test asks for.
  const redis = options.redis
    ? createRedisClient(
      { url: options.redis.url, token: options.redis.token },
      { timeoutMs: config.tierBudgetMs },
    )
    : undefined;
  const cache = await createEdgeCache({
    config,
    logger,
    kv,
    redis,
    now: options.now,
    nodeId: options.name,
  });
  const deps = { database: origin.database, cache };
  const app = new Hono();
  app.route(
    "/api/admin/products",
    adminProductsApi({ ...deps, guard: async (_c, next) => await next() }),
  );
  app.route("/api", catalogApi(deps));
  app.route("/", catalogPages(deps));
  app.notFound(handleNotFound);
  app.onError((error, c) => handleError(error, c, logger));
  async function close() {
    await cache.close();
    kv.close();
    await Deno.remove(kvDir, { recursive: true }).catch(() => {});
  }
  return { name: options.name, cache, kv, app, logLines, close, [Symbol.asyncDispose]: close };
}
