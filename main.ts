/**
 * Composes the storefront: global middleware, error mapping, route groups.
 *
 * `createApp` is what tests import; `startShop` opens the real services and serves.
 */
import { dirname } from "node:path";
import { Hono } from "hono";
import type { Redis } from "@upstash/redis";
import { bodyLimit } from "hono/body-limit";
import { every } from "hono/combine";
import { compress } from "hono/compress";
import { HTTPException } from "hono/http-exception";
import { type Database, openDatabase, type ReadPath } from "./db/client.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { isCatalogEmpty, seedCatalog } from "./db/seed.ts";
import { type Auth, createAuth, type CreateAuthOptions } from "./edge/auth/auth.ts";
import { authenticate, requireRole } from "./edge/auth/middleware.ts";
import { readinessKvKey } from "./edge/keys.ts";
import { createEdgeCache, type EdgeCache } from "./edge/cache/cache.ts";
import { type Config, ConfigError, readConfigFromEnv } from "./edge/platform/config.ts";
import { securityHeaders, withDeadline } from "./edge/http/middleware.ts";
import { serveStaticFiles } from "./edge/http/static.ts";
import { ensurePrivateDir, ensurePrivateFile } from "./edge/platform/files.ts";
import { createLogger, errorFields, type Logger } from "./edge/platform/log.ts";
import { readYourWrites } from "./edge/http/read_your_writes.ts";
import { createReadinessProbe, type ReadinessReport } from "./edge/platform/readiness.ts";
import { createRedisClient } from "./edge/platform/redis.ts";
import { type RunningServer, serveGracefully } from "./edge/platform/server.ts";
import { accountPages } from "./routes/account/pages.tsx";
import { adminProductsApi } from "./routes/admin/products.ts";
import { authApi, jwksRoute } from "./routes/account/api.ts";
import { ensureAdminUser } from "./routes/account/flows.ts";
import { catalogApi } from "./routes/catalog/api.ts";
import { catalogPages } from "./routes/catalog/pages.tsx";
import { handleError, handleNotFound, timeoutResponse } from "./routes/errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";

/** Everything the routes need, opened once at start-up. */
export interface AppServices {
  config: Config;
  logger: Logger;
  database: Database;
  kv: Deno.Kv;
  /** Shared Upstash Redis; `undefined` in the embedded default. */
  redis?: Redis;
  /** Access tokens, denylist, password hasher and rate limits, built once. */
  auth: Auth;
  /** Edge cache tiers (L0 → KV → Redis) for catalog responses, with tag invalidation. */
  cache: EdgeCache;
  readiness: () => Promise<ReadinessReport>;
}

/** Route groups that serve a shopper's own data (never cached, read-your-writes applies). */
const PERSONAL_ROUTES = ["/api/auth/*", "/api/admin/*", "/account/*"];

const STATIC_ROOT = new URL("./static", import.meta.url).pathname;

/** Builds the Hono app over already-open services. */
export function createApp(services: AppServices): Hono {
  const { config, logger } = services;
  const app = new Hono();

  app.use(securityHeaders());
  app.on(
    ["POST", "PUT", "PATCH", "DELETE"],
    "*",
    bodyLimit({
      maxSize: config.http.bodyLimitBytes,
      onError: () => {
        throw new HTTPException(413, {
          message: `Request body is larger than ${config.http.bodyLimitBytes} bytes`,
        });
      },
    }),
  );
  // Routes that read or write a shopper's own data: writes stamp the read-your-writes cookie
  // and reads honour it. The catalog is anonymous and cached, so it skips this layer.
  const ownData = readYourWrites({
    windowMs: config.database.readYourWritesWindowMs,
    proxy: config.http,
  });
  for (const path of PERSONAL_ROUTES) app.use(path, ownData);
  // Cached catalog responses arrive precompressed from the edge cache; these are the others.
  const compressText = compress();
  for (const path of [...PERSONAL_ROUTES, "/static/*", "/metrics"]) app.use(path, compressText);

  app.use(
    "/static/*",
    async (c, next) => {
      await next();
      if (c.res.ok) c.header("Cache-Control", "public, max-age=3600");
    },
    serveStaticFiles({
      root: STATIC_ROOT,
      logger,
      rewriteRequestPath: (path) => path.replace(/^\/static/, ""),
    }),
  );
  app.route("/", healthRoutes(services));
  app.route("/api/auth", authApi(services));
  app.route("/", jwksRoute(services));
  app.route("/", accountPages(services));
  app.route("/", metricsRoutes(services));
  app.route(
    "/api/admin/products",
    adminProductsApi({
      ...services,
      guard: every(authenticate(services.auth), requireRole("admin")),
    }),
  );
  app.route("/api", catalogApi(services));
  app.route("/", catalogPages(services));

  app.notFound(handleNotFound);
  app.onError((error, c) => handleError(error, c, logger));
  return app;
}

export interface OpenServicesOptions {
  /** Sees every SQL statement (query counting in tests). */
  onQuery?: (sql: string) => void;
  /** Size of the catalog seeded into an empty database. */
  seedProductCount?: number;
  /** Auth overrides (the benchmark swaps the password hasher). */
  auth?: CreateAuthOptions;
}

/** Opens the database (migrating, seeding if empty) and KV described by `config`. */
export async function openServices(
  config: Config,
  logger: Logger,
  options: OpenServicesOptions = {},
): Promise<AppServices> {
  const database = openDatabase(config.database, {
    onQuery: options.onQuery,
    onHealthChange: ({ target, healthy, error }) =>
      healthy
        ? logger.info("database reachable again", { target })
        : logger.warn("database unreachable", { target, ...errorFields(error) }),
    onReadPathChange: (path) => logReadPath(logger, path),
  });
  // Migrations and the seed go to the primary only; replicas receive them by replication.
  await migrateDatabase(database.writer);
  if (config.seedIfEmpty && await isCatalogEmpty(database.writer)) {
    const started = performance.now();
    const catalog = await seedCatalog(database.writer, {
      productCount: options.seedProductCount,
      onProgress: ({ table, done, total }) => {
        if (done === total) logger.info("seeded", { table, rows: total });
      },
    });
    logger.info("catalog seeded", {
      products: catalog.products.length,
      ms: Math.round(performance.now() - started),
    });
  }
  await database.sync();
  if (config.kvPath) {
    ensurePrivateDir(dirname(config.kvPath));
    ensurePrivateFile(config.kvPath);
  }
  const kv = await Deno.openKv(config.kvPath);
  const redis = config.upstash
    ? createRedisClient(config.upstash, { timeoutMs: config.upstash.timeoutMs })
    : undefined;
  const auth = await createAuth({ config, kv, redis, logger }, options.auth);
  if (config.auth.admin) {
    await ensureAdminUser({ auth, database }, config.auth.admin);
    logger.info("admin user ensured", { email: config.auth.admin.email });
  }
  const readiness = readinessOf({ database, kv, redis }, config.http.readinessCacheMs);
  const cache = await createEdgeCache({
    config: config.cache,
    logger,
    kv,
    redis,
    primaryReadsAfterWriteMs: config.database.readYourWritesWindowMs,
  });
  return { config, logger, database, kv, redis, auth, cache, readiness };
}

/** One line per change of read path, so an outage shows in the log once, not per request. */
function logReadPath(logger: Logger, path: ReadPath): void {
  if (path === "normal") logger.info("database reads back to normal");
  else if (path === "replica-only") {
    logger.warn("database reads continue from the replica alone while the primary is down");
  } else logger.error("no database copy answers reads; cached pages stand in where there are some");
}

/**
 * `/readyz`: ready while catalog reads can be served (from the replica or the primary); a dead
 * primary, KV or Redis makes it `degraded`, not unready, because every instance shares them and
 * taking them all out of the load balancer would turn "no writes" into "no shop".
 */
function readinessOf(
  deps: { database: Database; kv: Deno.Kv; redis?: Redis },
  cacheMs: number,
): () => Promise<ReadinessReport> {
  const { database, kv, redis } = deps;
  const checks: Record<string, () => Promise<unknown>> = {
    primary: () => database.ping("primary"),
  };
  if (database.topology !== "embedded") checks.replica = () => database.ping("replica");
  checks.kv = () => kv.get(readinessKvKey);
  if (redis) checks.redis = () => redis.ping();
  return createReadinessProbe(checks, {
    cacheMs,
    timeoutMs: 1000,
    serves: (results) => results.primary.ok || results.replica?.ok === true,
  });
}

/** Closes every client held by `services`. */
export async function closeServices(services: AppServices): Promise<void> {
  await services.auth.close();
  await services.cache.close();
  services.database.close();
  services.kv.close();
}

async function startShop(): Promise<void> {
  const started = performance.now();
  let config: Config;
  try {
    config = readConfigFromEnv();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`config error: ${error.message}`);
    Deno.exit(1);
  }
  const logger = createLogger(config.logLevel, { base: { region: config.region } });
  let services: AppServices;
  try {
    services = await openServices(config, logger);
  } catch (error) {
    logger.error("start-up failed", errorFields(error));
    Deno.exit(1);
  }
  const app = createApp(services);
  let server: RunningServer;
  try {
    const handler = withDeadline(app.fetch, {
      timeoutMs: config.http.requestTimeoutMs,
      logger,
      onTimeout: timeoutResponse,
    });
    server = serveGracefully(handler, {
      port: config.port,
      hostname: config.hostname,
      shutdownDeadlineMs: config.http.shutdownDeadlineMs,
      logger,
      onClosed: () => closeServices(services),
    });
  } catch (error) {
    logger.error(`cannot listen on ${config.hostname}:${config.port}`, errorFields(error));
    Deno.exit(1);
  }
  logger.info("listening", {
    url: `http://localhost:${server.addr.port}`,
    startupMs: Math.round(performance.now() - started),
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      server.shutdown(signal).then(() => Deno.exit(0));
    });
  }
}

if (import.meta.main) await startShop();
