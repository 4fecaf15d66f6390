/**
 * Composes the storefront: global middleware, error mapping, route groups.
 *
 * `createApp` is what tests import; `openShop` reads the environment and opens the real
 * services; run as the main module (`deno run main.ts`), it serves them.
 *
 * One entry for every place the shop runs; only the opened clients differ (RUNTIME_MODE):
 * - local: libSQL files through the native driver, a KV file, generated keys, native argon2;
 * - edge (Deno Deploy, or `deno task start:edge` with only --allow-net --allow-env
 *   --allow-read): remote libSQL over HTTP, Upstash, keys from AUTH_SIGNING_KEYS, the platform
 *   KV, argon2id in WebAssembly workers. Native modules are imported only when a local client
 *   asks for them, so the edge never loads one.
 *
 * `deno serve --parallel` (one worker per core) uses serve.ts, which opens the same shop.
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
import { type Priority, withAdmission } from "./edge/http/admission.ts";
import { type CapacityMetrics, createCapacityMetrics } from "./edge/platform/capacity_metrics.ts";
import { openLibc } from "./edge/platform/libc.ts";
import { startMemoryReleaser } from "./edge/platform/memory.ts";
import { type Config, ConfigError, readConfigFromEnv } from "./edge/platform/config.ts";
import { securityHeaders, withDeadline } from "./edge/http/middleware.ts";
import { serveStaticFiles } from "./edge/http/static.ts";
import { ensurePrivateDir, ensurePrivateFile } from "./edge/platform/files.ts";
import { createLogger, errorFields, type Logger } from "./edge/platform/log.ts";
import { readYourWrites } from "./edge/http/read_your_writes.ts";
import {
  createRegionCrossings,
  type RegionCrossings,
  reportRegionCrossings,
} from "./edge/http/region_crossings.ts";
import { createReadinessProbe, type ReadinessReport } from "./edge/platform/readiness.ts";
import { createRedisClient } from "./edge/platform/redis.ts";
import { type RunningServer, serveGracefully } from "./edge/platform/server.ts";
import { createSigner, loadShopSecret, type Signer } from "./edge/platform/signing.ts";
import { createPaymentProvider, type PaymentProvider } from "./edge/payments/payments.ts";
import { privateNoStore } from "./edge/http/private.ts";
import { accountOverview } from "./routes/account/overview.tsx";
import { accountPages } from "./routes/account/pages.tsx";
import { adminProductsApi } from "./routes/admin/products.ts";
import { authApi, jwksRoute } from "./routes/account/api.ts";
import { ensureAdminUser } from "./routes/account/flows.ts";
import { catalogApi } from "./routes/catalog/api.ts";
import { productImages } from "./routes/catalog/images.ts";
import { readDepartments } from "./routes/catalog/menu_data.ts";
import { catalogPages } from "./routes/catalog/pages.tsx";
import { cartApi } from "./routes/cart/api.ts";
import { cartPages } from "./routes/cart/pages.tsx";
import { createCartSessions } from "./routes/cart/session.ts";
import { checkoutApi } from "./routes/checkout/api.ts";
import { checkoutPages } from "./routes/checkout/pages.tsx";
import { adminOrdersApi } from "./routes/orders/admin.ts";
import { ordersApi } from "./routes/orders/api.ts";
import { createOrderLinks, type OrderLinks } from "./routes/orders/links.ts";
import { type OutboxWorker, startOutboxWorker } from "./routes/orders/outbox_worker.ts";
import { orderPages } from "./routes/orders/pages.tsx";
import { paymentWebhook } from "./routes/payments/webhook.ts";
import {
  handleError,
  handleNotFound,
  overloadedResponse,
  timeoutResponse,
  wantsJson,
} from "./routes/errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { beyondEdge, describePermissions } from "./edge/platform/permissions.ts";
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
  /** Random id of this process (or `deno serve` worker): /healthz names it, the cache uses it. */
  instance: string;
  /** Calls leaving this edge's region, per request; `undefined` in the primary region. */
  crossings?: RegionCrossings;
  /** Connection, shedding and memory figures for /metrics, filled in by the server at start. */
  capacity: CapacityMetrics;
  /** Signs cart cookies and guest order links (SHOP_SECRET, or generated into DATA_DIR). */
  signer: Signer;
  orderLinks: OrderLinks;
  payments: PaymentProvider;
  /** Carries out orders' side effects from the transactional outbox. */
  outbox: OutboxWorker;
}

/**
 * The cart and checkout APIs answer small JSON bodies, sent uncompressed: compressing one
 * (a CompressionStream per response) cost ~0.2 ms of CPU, a tenth of a whole checkout.
 */
const UNCOMPRESSED_APIS = ["/api/cart/*", "/api/checkout/*"];

/** The buying path: a shopper's cart, checkout and orders (`private, no-store`, never cached). */
const BUYING_ROUTES = [
  ...UNCOMPRESSED_APIS,
  "/api/orders/*",
  "/cart/*",
  "/checkout",
  "/orders/*",
];

/** Route groups that serve a shopper's own data (never cached, read-your-writes applies). */
const PERSONAL_ROUTES = ["/api/auth/*", "/api/admin/*", "/account/*", ...BUYING_ROUTES];
const PERSONAL_PREFIXES = PERSONAL_ROUTES.map((route) => route.replace(/\*$/, ""));
const PROBES = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Who is refused first under load: probes never, catalog reads last, and everything personal
 * (sign-in's password hash costs a whole core) first. Reads the path without parsing a URL.
 */
export function priorityOf(request: Request): Priority {
  const url = request.url;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.indexOf("?", start);
  const path = end < 0 ? url.slice(start) : url.slice(start, end);
  if (PROBES.has(path)) return "critical";
  if (request.method !== "GET" && request.method !== "HEAD") return "low";
  return PERSONAL_PREFIXES.some((prefix) => path.startsWith(prefix)) ? "low" : "high";
}

const STATIC_ROOT = new URL("./static", import.meta.url).pathname;

const WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"];

/** Builds the Hono app over already-open services. */
export function createApp(services: AppServices): Hono {
  const { config, logger } = services;
  const app = new Hono();

  if (services.crossings) app.use(reportRegionCrossings(services.crossings, config.region));
  app.use(securityHeaders());
  app.on(
    WRITE_METHODS,
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
  // A primary known to be unreachable (dead, or a far region cut off): refuse writes before any
  // work is spent on them (rate limits, password hashes), instead of after.
  app.on(WRITE_METHODS, "*", async (_c, next) => {
    services.database.assertWritable();
    await next();
  });
  // Routes that read or write a shopper's own data: writes stamp the read-your-writes cookie
  // and reads honour it. The catalog is anonymous and cached, so it skips this layer.
  const ownData = readYourWrites({
    windowMs: config.database.readYourWritesWindowMs,
    proxy: config.http,
  });
  for (const path of PERSONAL_ROUTES) app.use(path, ownData);
  // Cached catalog responses arrive precompressed from the edge cache; these are the others.
  const compressText = compress();
  for (const path of [...PERSONAL_ROUTES, "/static/*", "/metrics"]) {
    if (!UNCOMPRESSED_APIS.includes(path)) app.use(path, compressText);
  }
  const personal = privateNoStore();
  for (const path of [...BUYING_ROUTES, "/account/*"]) app.use(path, personal);

  // Built files carry a content hash in their names, so browsers may keep them for a year;
  // their .br and .gz twins are served by Accept-Encoding.
  app.use("/static/*", async (c, next) => {
    await next();
    if (!c.res.ok) return;
    c.header(
      "Cache-Control",
      c.req.path.startsWith("/static/build/")
        ? "public, max-age=31536000, immutable"
        : "public, max-age=3600",
    );
  });
  app.use(
    "/static/*",
    serveStaticFiles({
      root: STATIC_ROOT,
      logger,
      rewriteRequestPath: (path) => path.replace(/^\/static/, ""),
      precompressed: true,
    }),
  );
  app.route("/", productImages());
  const carts = createCartSessions({ ...services, cart: config.cart });
  // Signing in merges the browser's anonymous cart into the account's; signing out forgets it.
  const accountDeps = {
    ...services,
    onSignIn: carts.signedIn,
    onSignOut: carts.signedOut,
  };
  const adminGuard = every(authenticate(services.auth), requireRole("admin"));
  // The category menu on pages outside the catalog, from the cached categories entry.
  const departments = () => readDepartments(services);
  const buyingDeps = { ...services, carts, checkout: config.checkout, departments };
  app.route("/", healthRoutes(services));
  app.route("/api/auth", authApi(accountDeps));
  app.route("/", jwksRoute(services));
  app.route("/", accountPages({ ...accountDeps, departments }));
  app.route("/", accountOverview(buyingDeps));
  app.route("/", metricsRoutes(services));
  app.route("/api/admin/products", adminProductsApi({ ...services, guard: adminGuard }));
  app.route("/api/admin/orders", adminOrdersApi({ ...services, guard: adminGuard }));
  app.route("/api/cart", cartApi(buyingDeps));
  app.route("/api/checkout", checkoutApi(buyingDeps));
  app.route("/api/orders", ordersApi(services));
  app.route("/api/payments", paymentWebhook(services));
  app.route("/", cartPages(buyingDeps));
  app.route("/", checkoutPages(buyingDeps));
  app.route("/", orderPages(buyingDeps));
  app.route("/api", catalogApi(services));
  app.route("/", catalogPages(services));

  // Not-found pages carry the category menu, so a dead link still leads somewhere.
  app.notFound(async (c) =>
    handleNotFound(
      c,
      wantsJson(c) ? undefined : await readDepartments(services).catch(() => undefined),
    )
  );
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
  const instance = crypto.randomUUID();
  // Outside the primary region, calls to the primary and to Redis cross regions: count them.
  const crossings = config.region === config.primaryRegion ? undefined : createRegionCrossings();
  const database = openDatabase(config.database, {
    onQuery: options.onQuery,
    onPrimaryCall: crossings && ((ms) => crossings.record("primary", ms)),
    onHealthChange: ({ target, healthy, error }) =>
      healthy
        ? logger.info("database reachable again", { target })
        : logger.warn("database unreachable", { target, ...errorFields(error) }),
    onReadPathChange: (path) => logReadPath(logger, path),
  });
  // Migrations and the seed go to the primary only; replicas receive them by replication. The
  // edge is migrated before a deploy (`deno task db:migrate`), not by every isolate that starts.
  if (config.database.migrateOnStart) await migrateDatabase(database.writer);
  // Otherwise a first statement now, so a wrong URL or token fails start-up, not a request; to
  // the copy reads go to first, since reads do not depend on the primary being alive.
  else await database.ping(database.topology === "embedded" ? "primary" : "replica");
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
    ? createRedisClient(config.upstash, {
      timeoutMs: config.upstash.timeoutMs,
      onRequest: crossings && (() => crossings.record("redis")),
    })
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
    nodeId: instance,
    primaryReadsAfterWriteMs: config.database.readYourWritesWindowMs,
  });
  const capacity = createCapacityMetrics();
  const signer = await createSigner(
    await loadShopSecret({ configured: config.shopSecret, dataDir: config.dataDir }),
  );
  const orderLinks = createOrderLinks(signer);
  const payments = await createPaymentProvider({
    webhookSecret: config.payments.webhookSecret,
    toleranceSeconds: config.payments.webhookToleranceSeconds,
  });
  const outbox = startOutboxWorker({
    database,
    cache,
    logger,
    config: config.outbox,
    links: orderLinks,
    publicUrl: config.publicUrl,
  });
  return {
    config,
    logger,
    database,
    kv,
    redis,
    auth,
    cache,
    readiness,
    instance,
    crossings,
    capacity,
    signer,
    orderLinks,
    payments,
    outbox,
  };
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
  // First: the worker's batch in flight still needs the database and the cache.
  await services.outbox.close();
  await services.auth.close();
  await services.cache.close();
  services.database.close();
  services.kv.close();
}

/** A shop opened from the environment: its services and the request handler over them. */
export interface OpenShop {
  config: Config;
  logger: Logger;
  services: AppServices;
  /** `app.fetch` inside the request deadline. */
  handler: (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>;
}

/**
 * Reads the environment and opens everything before the first request: a missing or bad
 * setting or an unreachable database ends the process with one line.
 */
export async function openShop(): Promise<OpenShop> {
  let config: Config;
  try {
    config = readConfigFromEnv();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`config error: ${error.message}`);
    Deno.exit(1);
  }
  const logger = createLogger(config.logLevel, { base: { region: config.region } });
  logStartupPermissions(config, logger);
  let services: AppServices;
  try {
    services = await openServices(config, logger);
  } catch (error) {
    logger.error("start-up failed", errorFields(error));
    Deno.exit(1);
  }
  const app = createApp(services);
  const handler = withDeadline(app.fetch, {
    timeoutMs: config.http.requestTimeoutMs,
    logger,
    onTimeout: timeoutResponse,
  });
  return { config, logger, services, handler };
}

/**
 * One line saying what this process may do: under the edge's rules it shows that FFI, writes
 * and subprocesses are not granted; in edge mode with more (say `-A`), a warning that this run
 * does not rehearse the edge faithfully.
 */
function logStartupPermissions(config: Config, logger: Logger): void {
  const permissions = describePermissions();
  logger.info("permissions", { mode: config.mode, ...permissions });
  const extra = beyondEdge(permissions);
  if (config.mode === "edge" && extra.length > 0) {
    logger.warn("edge mode with permissions the edge does not give", { extra });
  }
}

async function startShop(): Promise<void> {
  const started = performance.now();
  const { config, logger, services, handler } = await openShop();
  const { http } = config;
  const libc = openLibc();
  const memory = startMemoryReleaser({
    libc,
    logger,
    requestsServed: () => {
      const { admitted } = admission.stats();
      return admitted.critical + admitted.high + admitted.low;
    },
  });
  // Start-up (the seed above all) leaves garbage V8 would otherwise keep mapped until load comes.
  memory.releaseNow("start-up");
  // Created after that pause, so its event-loop probe does not take start-up for load.
  const admission = withAdmission(handler, {
    ...http.admission,
    priorityOf,
    onShed: overloadedResponse,
  });
  let server: RunningServer;
  try {
    server = serveGracefully(admission.handler, {
      port: config.port,
      hostname: config.hostname,
      shutdownDeadlineMs: http.shutdownDeadlineMs,
      logger,
      libc,
      tcpBacklog: http.listenBacklog,
      connections: {
        maxConnections: http.maxConnections,
        headerTimeoutMs: http.headerTimeoutMs,
        idleTimeoutMs: http.idleTimeoutMs,
        drainTimeoutMs: http.requestTimeoutMs,
        onOverCapacity: (request) => overloadedResponse(request, 1, { closeConnection: true }),
      },
      onClosed: () => {
        admission.close();
        memory.stop();
        return closeServices(services);
      },
    });
  } catch (error) {
    logger.error(`cannot listen on ${config.hostname}:${config.port}`, errorFields(error));
    Deno.exit(1);
  }
  registerCapacityMetrics(services.capacity, { server, admission, memory });
  logger.info("listening", {
    url: `http://localhost:${server.addr.port}`,
    mode: config.mode,
    startupMs: Math.round(performance.now() - started),
    maxConnections: server.maxConnections,
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      server.shutdown(signal).then(() => Deno.exit(0));
    });
  }
}

function registerCapacityMetrics(
  capacity: CapacityMetrics,
  parts: {
    server: RunningServer;
    admission: { stats: ReturnType<typeof withAdmission>["stats"] };
    memory: ReturnType<typeof startMemoryReleaser>;
  },
): void {
  const { server, admission, memory } = parts;
  capacity.register(() => {
    const admitted = admission.stats();
    const samples: Record<string, number> = {
      requests_in_flight: admitted.inFlight,
      requests_queued: admitted.queued,
      event_loop_delay_ms: Math.round(admitted.lagMs),
    };
    for (const [priority, count] of Object.entries(admitted.admitted)) {
      samples[`requests_admitted_${priority}_total`] = count;
    }
    for (const [reason, count] of Object.entries(admitted.shed)) {
      samples[`requests_shed_${reason}_total`] = count;
    }
    const guard = server.guard?.stats();
    if (guard) {
      samples.connections_open = guard.open;
      samples.connections_max = server.maxConnections ?? 0;
      samples.connections_closed_header_timeout_total = guard.closedHeaderTimeout;
      samples.connections_closed_idle_timeout_total = guard.closedIdleTimeout;
      samples.connections_closed_over_capacity_total = guard.closedOverCapacity;
      samples.connections_refused_over_capacity_total = guard.refusedOverCapacity;
      samples.connection_sweep_ms = Math.round(guard.lastSweepMs * 10) / 10;
    }
    const released = memory.stats();
    samples.memory_full_collections_total = released.collections;
    samples.memory_heap_trims_total = released.trims;
    samples.memory_released_bytes_total = released.releasedBytes;
    return samples;
  });
}

if (import.meta.main) await startShop();
