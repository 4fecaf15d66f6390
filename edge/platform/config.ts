/**
 * The one place that reads the environment. Everything else receives a typed `Config`.
 *
 * Every setting is listed in README.md ("Configuration"); keep the two in step.
 */

/** Thrown when a setting is missing or malformed; its message is one line for the operator. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * Where the shop runs. `local`: the embedded defaults (libSQL files, a KV file, generated keys,
 * the native argon2 addon). `edge`: Deno Deploy's rules, proven locally with only
 * `--allow-net --allow-env --allow-read --unstable-kv`: remote libSQL over HTTP, Upstash,
 * keys from the environment, the platform KV, argon2id in WebAssembly; nothing is written to
 * disk and no native code is loaded.
 */
export type RuntimeMode = "local" | "edge";

/** How passwords are hashed: the native addon (needs FFI) or WebAssembly in Web Workers. */
export type PasswordHasherKind = "native" | "wasm";

export interface Config {
  mode: RuntimeMode;
  port: number;
  hostname: string;
  dataDir: string;
  /** Human-readable name of this edge node, used in logs and cache metrics. */
  region: string;
  /**
   * The region that holds the libSQL primary and Redis. An edge elsewhere keeps Redis off its
   * request path and reports the calls that leave its region (`Server-Timing`).
   */
  primaryRegion: string;
  logLevel: LogLevel;
  database: DatabaseConfig & {
    /** After a shopper's write, their own reads go to the primary for this long. */
    readYourWritesWindowMs: number;
    /** Applies pending migrations at start-up (local default); the edge is migrated beforehand. */
    migrateOnStart: boolean;
  };
  /** Deno KV path; `undefined` means the platform default (Deno Deploy). */
  kvPath?: string;
  upstash?: { url: string; token: string; timeoutMs: number };
  /** Seeds the demo catalog when the database has no products. */
  seedIfEmpty: boolean;
  /** Bearer token that `/metrics` requires; `undefined`: `/metrics` is not served (404). */
  metricsToken?: string;
  http: {
    requestTimeoutMs: number;
    bodyLimitBytes: number;
    shutdownDeadlineMs: number;
    /** Connections the kernel queues before they are accepted (capped by net.core.somaxconn). */
    listenBacklog: number;
    /** Open client connections; beyond it idle ones are closed and new ones answered 503. */
    maxConnections: number;
    /** A new connection must deliver a complete request head within this. */
    headerTimeoutMs: number;
    /** A keep-alive connection must send its next request head within this. */
    idleTimeoutMs: number;
    /** A TLS-terminating proxy in front: believe its X-Forwarded-Proto and X-Forwarded-For. */
    trustProxy: boolean;
    /** Every request arrives over HTTPS whatever its URL says (Deno Deploy). */
    httpsOnly: boolean;
    /** How long `/readyz` reuses one evaluation of the dependency checks. */
    readinessCacheMs: number;
    admission: AdmissionConfig;
  };
  auth: AuthConfig;
  cache: CacheConfig;
  /** The shop's public address, for links in mail (order confirmation). */
  publicUrl: string;
  /** Signs cart cookies and guest order links; absent: generated into `dataDir`. */
  shopSecret?: string;
  cart: CartConfig;
  checkout: CheckoutConfig;
  outbox: OutboxConfig;
  payments: PaymentsConfig;
}

/** Bounds of one cart. */
export interface CartConfig {
  maxLines: number;
  /** Largest quantity of one line. */
  maxQuantity: number;
  /** Lifetime of the anonymous cart cookie. */
  cookieMaxAgeSeconds: number;
}

/** A way to ship an order, priced in minor units of the catalog's currency. */
export interface ShippingOption {
  id: string;
  label: string;
  priceMinor: number;
  /** Free when the order's subtotal is at least this much. */
  freeOverMinor?: number;
}

export interface CheckoutConfig {
  shippingOptions: ShippingOption[];
  /** How long a checkout's `Idempotency-Key` replays the same order. */
  idempotencyTtlSeconds: number;
}

/** The transactional outbox worker: side effects of orders, retried until done or dead. */
export interface OutboxConfig {
  /** Whether this instance drains the outbox (any number of instances may). */
  workerEnabled: boolean;
  /** How often an idle worker looks for due rows. */
  pollMs: number;
  /** Rows claimed at once. */
  batchSize: number;
  /** Attempts before a row is dead-lettered. */
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to `retryMaxMs`, with full jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a claim is exclusive; a crashed worker's rows are claimable again after it. */
  leaseMs: number;
}

export interface PaymentsConfig {
  /** Shared secret of the payment webhook's HMAC-SHA256 signature; absent: webhook disabled. */
  webhookSecret?: string;
  /** Oldest (or most future) webhook timestamp accepted, in seconds from now. */
  webhookToleranceSeconds: number;
}

/** Where the database is and how long calls to it may take (what db/client.ts opens). */
export interface DatabaseConfig {
  /** The writer: a libSQL file (`file:`) or the primary (`http(s)://`, `libsql://`). */
  url: string;
  authToken?: string;
  /** The reader: a sqld replica (`http(s)://`) or an embedded replica file (`file:`) synced from `url`. */
  readUrl?: string;
  /** Seconds between background syncs of an embedded replica. */
  syncIntervalSeconds: number;
  /** Budget for one database call before it is abandoned. */
  timeoutMs: number;
  /** Budget for one call to a sqld replica before reads fall back to the primary (default: min(500, timeoutMs)). */
  replicaTimeoutMs?: number;
}

/** The kinds of cached response; each has its own freshness windows. */
export type CacheKind = "product" | "listing" | "home";

/** How long a cached response is fresh, then servable while revalidating, then on origin errors. */
export interface CacheWindows {
  freshMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
}

export interface CacheConfig {
  /** Upper bound of the in-process L0 cache, in bytes of cached bodies. */
  l0MaxBytes: number;
  /** Budget for one KV or Redis cache call; slower tiers are skipped. */
  tierBudgetMs: number;
  /**
   * Redis is in this node's region (default true): misses read L2 and take leases. False keeps
   * Redis to invalidation events, since the nearest replica answers sooner than a far Redis.
   */
  redisInRegion?: boolean;
  /** Budget for one Redis cache call when it differs from `tierBudgetMs` (a far node's). */
  redisBudgetMs?: number;
  /** How long one node holds the cross-node revalidation lease. */
  leaseMs: number;
  /** How long a miss waits for another node's fetch before fetching itself. */
  leaseWaitMs: number;
  /** How often each node polls Redis for invalidations from other nodes. */
  invalidationPollMs: number;
  /** Fraction (0-0.5) by which fresh lifetimes are randomly spread so keys do not expire together. */
  jitter: number;
  /** How long a "not found" from the origin is answered from the cache (negative caching). */
  notFoundTtlMs: number;
  /** Distinct keys one L1 (KV) generation holds before a new generation starts. */
  kvMaxEntries: number;
  /** Entries L2 (Redis) keeps; the oldest writes are evicted past it. */
  redisMaxEntries: number;
  kinds: Record<CacheKind, CacheWindows>;
}

/** Load shedding (edge/http/admission.ts). */
export interface AdmissionConfig {
  /** Requests running at once; more catalog requests wait in the queue, others get 503. */
  maxInFlight: number;
  /** Catalog requests that may wait for a slot. */
  queueLimit: number;
  /** How long one may wait before it gets a 503. */
  queueTimeoutMs: number;
  /** Standing event-loop delay above which sign-in and account requests get 503. */
  lowPriorityLagMs: number;
  /** Standing event-loop delay above which catalog requests get 503 too. */
  highPriorityLagMs: number;
}

/** A fixed-window limit: `limit` requests per `windowSeconds`. */
export interface RateLimitRule {
  limit: number;
  windowSeconds: number;
}

export interface AuthConfig {
  issuer: string;
  audience: string;
  /** Private JWKs (Ed25519 or P-256) with `kid`, newest first; absent: a generated key in dataDir. */
  signingKeys?: JsonWebKey[];
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /**
   * How long a just-rotated refresh token may still be presented (two tabs refreshing at once)
   * and answered with the same successor instead of counting as reuse; 0 turns it off.
   */
  refreshGraceSeconds: number;
  /** Password hashes in flight at once; default cores − 1 (at least 1). */
  hashConcurrency?: number;
  /** Password hashes allowed to wait beyond those in flight before answering 503. */
  hashQueue: number;
  /** Longest expected wait for a hash before new ones are refused with 503. */
  hashMaxWaitMs: number;
  /** How often other instances' logouts are pulled into the local denylist. */
  denylistPollMs: number;
  /** `native` (@node-rs/argon2, needs FFI) locally; `wasm` (hash-wasm in Web Workers) on the edge. */
  passwordHasher: PasswordHasherKind;
  /** Allowed Origin values for cookie-authenticated posts; default: the request's own origin. */
  trustedOrigins?: string[];
  /** Fixed windows; the three login limits count failed attempts only. */
  rateLimits: {
    /** Failed logins from one address, whatever the account (password spraying). */
    loginPerIp: RateLimitRule;
    /** Failed logins of one account from one address: what slows a guesser at the door. */
    loginPerAccountIp: RateLimitRule;
    /** Failed logins of one account from every address together: a much higher ceiling. */
    loginPerAccount: RateLimitRule;
    registerPerIp: RateLimitRule;
    registerPerAccount: RateLimitRule;
    refreshPerIp: RateLimitRule;
  };
  /** Seeded admin, created or updated at start-up when both are set. */
  admin?: { email: string; password: string };
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const RUNTIME_MODES: readonly RuntimeMode[] = ["local", "edge"];
const PASSWORD_HASHERS: readonly PasswordHasherKind[] = ["native", "wasm"];

/** Builds the configuration from environment variables, failing on the first bad value. */
export function loadConfig(env: Env): Config {
  const dataDir = text(env, "DATA_DIR") ?? "./data";
  // Deno Deploy sets DENO_DEPLOYMENT_ID; there the edge rules apply unless told otherwise.
  const onDeploy = text(env, "DENO_DEPLOYMENT_ID") !== undefined;
  const mode = oneOf(env, "RUNTIME_MODE", RUNTIME_MODES, onDeploy ? "edge" : "local");
  const edge = mode === "edge";
  if (edge) checkEdgeSettings(env);
  const upstashUrl = text(env, "UPSTASH_REDIS_REST_URL");
  const upstashToken = text(env, "UPSTASH_REDIS_REST_TOKEN");
  if ((upstashUrl === undefined) !== (upstashToken === undefined)) {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set together",
    );
  }
  const databaseUrl = databaseUrlSetting(env, "DATABASE_URL") ?? `file:${dataDir}/shop.db`;
  const region = text(env, "REGION") ?? "local";
  const primaryRegion = text(env, "PRIMARY_REGION") ?? region;
  const redisInRegion = primaryRegion === region;
  // A far Redis needs a round trip more than a near one; 50 ms would skip it every time.
  const redisTimeoutMs = integer(env, "REDIS_TIMEOUT_MS", redisInRegion ? 50 : 1000, {
    min: 5,
    max: 10_000,
  });
  const tierBudgetMs = integer(env, "CACHE_TIER_BUDGET_MS", 50, { min: 1, max: 10_000 });
  const port = integer(env, "PORT", 8000, { min: 0, max: 65535 });
  return {
    mode,
    port,
    hostname: text(env, "HOSTNAME") ?? "0.0.0.0",
    dataDir,
    region,
    primaryRegion,
    logLevel: oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info"),
    database: {
      url: databaseUrl,
      authToken: text(env, "DATABASE_AUTH_TOKEN"),
      readUrl: databaseUrlSetting(env, "DATABASE_READ_URL"),
      syncIntervalSeconds: integer(env, "DATABASE_SYNC_INTERVAL", 1, { min: 1, max: 3600 }),
      timeoutMs: integer(env, "DATABASE_TIMEOUT_MS", 2000, { min: 50, max: 60_000 }),
      replicaTimeoutMs: integer(env, "DATABASE_REPLICA_TIMEOUT_MS", 300, { min: 10, max: 60_000 }),
      readYourWritesWindowMs: integer(env, "READ_YOUR_WRITES_WINDOW_MS", 10_000, {
        min: 0,
        max: 600_000,
      }),
      migrateOnStart: boolean(env, "DATABASE_MIGRATE_ON_START", !edge),
    },
    kvPath: edge ? undefined : text(env, "KV_PATH") ?? `${dataDir}/kv.sqlite`,
    upstash: upstashUrl && upstashToken
      ? {
        url: httpUrl("UPSTASH_REDIS_REST_URL", upstashUrl),
        token: upstashToken,
        timeoutMs: redisTimeoutMs,
      }
      : undefined,
    seedIfEmpty: boolean(env, "SEED_IF_EMPTY", !edge),
    metricsToken: bearerToken(env, "METRICS_TOKEN", 16),
    http: {
      requestTimeoutMs: integer(env, "REQUEST_TIMEOUT_MS", 10_000, { min: 100, max: 120_000 }),
      bodyLimitBytes: integer(env, "BODY_LIMIT_BYTES", 64 * 1024, { min: 1024, max: 10 << 20 }),
      shutdownDeadlineMs: integer(env, "SHUTDOWN_DEADLINE_MS", 10_000, { min: 0, max: 120_000 }),
      listenBacklog: integer(env, "LISTEN_BACKLOG", 4096, { min: 16, max: 65_535 }),
      maxConnections: integer(env, "MAX_CONNECTIONS", 12_000, { min: 1, max: 1_000_000 }),
      headerTimeoutMs: integer(env, "HEADER_TIMEOUT_MS", 10_000, { min: 100, max: 600_000 }),
      idleTimeoutMs: integer(env, "IDLE_TIMEOUT_MS", 15_000, { min: 100, max: 600_000 }),
      trustProxy: boolean(env, "TRUST_PROXY", false),
      httpsOnly: onDeploy,
      readinessCacheMs: integer(env, "READINESS_CACHE_MS", 5000, { min: 0, max: 60_000 }),
      admission: {
        maxInFlight: integer(env, "MAX_IN_FLIGHT", 256, { min: 1, max: 100_000 }),
        queueLimit: integer(env, "ADMISSION_QUEUE", 1024, { min: 0, max: 100_000 }),
        queueTimeoutMs: integer(env, "ADMISSION_QUEUE_TIMEOUT_MS", 1000, { min: 1, max: 60_000 }),
        lowPriorityLagMs: integer(env, "SHED_LAG_LOW_MS", 100, { min: 1, max: 60_000 }),
        highPriorityLagMs: integer(env, "SHED_LAG_HIGH_MS", 500, { min: 1, max: 60_000 }),
      },
    },
    auth: authConfig(env, mode),
    publicUrl: httpUrl("PUBLIC_URL", text(env, "PUBLIC_URL") ?? `http://localhost:${port}`),
    shopSecret: secret(env, "SHOP_SECRET", 32),
    cart: {
      maxLines: integer(env, "CART_MAX_LINES", 50, { min: 1, max: 500 }),
      maxQuantity: integer(env, "CART_MAX_QUANTITY", 99, { min: 1, max: 999 }),
      cookieMaxAgeSeconds: integer(env, "CART_COOKIE_DAYS", 30, { min: 1, max: 400 }) * 86_400,
    },
    checkout: {
      shippingOptions: shippingOptions(env, "SHIPPING_OPTIONS"),
      idempotencyTtlSeconds: integer(env, "IDEMPOTENCY_KEY_TTL_HOURS", 24, { min: 1, max: 720 }) *
        3600,
    },
    outbox: {
      workerEnabled: boolean(env, "OUTBOX_WORKER", true),
      pollMs: integer(env, "OUTBOX_POLL_MS", 1000, { min: 20, max: 60_000 }),
      batchSize: integer(env, "OUTBOX_BATCH_SIZE", 100, { min: 1, max: 1000 }),
      maxAttempts: integer(env, "OUTBOX_MAX_ATTEMPTS", 8, { min: 1, max: 100 }),
      retryBaseMs: integer(env, "OUTBOX_RETRY_BASE_MS", 1000, { min: 10, max: 3_600_000 }),
      retryMaxMs: integer(env, "OUTBOX_RETRY_MAX_MS", 300_000, { min: 10, max: 86_400_000 }),
      leaseMs: integer(env, "OUTBOX_LEASE_MS", 30_000, { min: 100, max: 3_600_000 }),
    },
    payments: {
      webhookSecret: secret(env, "PAYMENT_WEBHOOK_SECRET", 16),
      webhookToleranceSeconds: integer(env, "PAYMENT_WEBHOOK_TOLERANCE_S", 300, {
        min: 1,
        max: 3600,
      }),
    },
    cache: {
      l0MaxBytes: integer(env, "CACHE_L0_MAX_BYTES", 64 << 20, { min: 0, max: 4 << 30 }),
      tierBudgetMs,
      redisInRegion,
      // In the region, Redis cache calls share the tier budget; a far node allows for distance.
      redisBudgetMs: redisInRegion ? undefined : Math.max(tierBudgetMs, redisTimeoutMs),
      leaseMs: integer(env, "CACHE_LEASE_MS", 3000, { min: 100, max: 60_000 }),
      leaseWaitMs: integer(env, "CACHE_LEASE_WAIT_MS", 300, { min: 0, max: 10_000 }),
      invalidationPollMs: integer(env, "CACHE_INVALIDATION_POLL_MS", 250, { min: 20, max: 60_000 }),
      jitter: integer(env, "CACHE_TTL_JITTER_PERCENT", 10, { min: 0, max: 50 }) / 100,
      notFoundTtlMs: integer(env, "CACHE_NOT_FOUND_TTL_S", 30, { min: 0, max: 3600 }) * 1000,
      kvMaxEntries: integer(env, "CACHE_KV_MAX_ENTRIES", 20_000, { min: 1, max: 10_000_000 }),
      redisMaxEntries: integer(env, "CACHE_REDIS_MAX_ENTRIES", 50_000, {
        min: 1,
        max: 100_000_000,
      }),
      kinds: {
        product: cacheWindows(env, "PRODUCT", { fresh: 300, swr: 600, sie: 86_400 }),
        listing: cacheWindows(env, "LISTING", { fresh: 60, swr: 300, sie: 3600 }),
        home: cacheWindows(env, "HOME", { fresh: 60, swr: 300, sie: 3600 }),
      },
    },
  };
}

/** Reads CACHE_<KIND>_FRESH_S, _SWR_S and _STALE_IF_ERROR_S (seconds). */
function cacheWindows(
  env: Env,
  kind: string,
  defaults: { fresh: number; swr: number; sie: number },
): CacheWindows {
  const seconds = (suffix: string, fallback: number) =>
    integer(env, `CACHE_${kind}_${suffix}`, fallback, { min: 0, max: 7 * 86_400 }) * 1000;
  return {
    freshMs: seconds("FRESH_S", defaults.fresh),
    staleWhileRevalidateMs: seconds("SWR_S", defaults.swr),
    staleIfErrorMs: seconds("STALE_IF_ERROR_S", defaults.sie),
  };
}

/**
 * The edge cannot write files, load native code or share memory between isolates, so every
 * embedded default is unavailable there: the settings that replace them must be given.
 * Reports every missing or unusable one in a single line.
 */
function checkEdgeSettings(env: Env): void {
  const missing = [
    "DATABASE_URL",
    "UPSTASH_REDIS_REST_URL",
    "UPSTASH_REDIS_REST_TOKEN",
    "AUTH_SIGNING_KEYS",
    // Signs cart cookies and guest order links; elsewhere it is generated into DATA_DIR.
    "SHOP_SECRET",
  ].filter((name) => text(env, name) === undefined);
  if (missing.length > 0) {
    throw new ConfigError(
      `RUNTIME_MODE=edge needs ${missing.join(", ")} (README: "Deploying to Deno Deploy")`,
    );
  }
  for (const name of ["DATABASE_URL", "DATABASE_READ_URL"]) {
    if (text(env, name)?.startsWith("file:")) {
      throw new ConfigError(
        `${name} must be a remote libSQL URL (https://, libsql://) in edge mode: file: databases need file writes and the native driver`,
      );
    }
  }
  if (text(env, "KV_PATH") !== undefined) {
    throw new ConfigError("KV_PATH must not be set in edge mode: the edge uses the platform's KV");
  }
  if (text(env, "AUTH_PASSWORD_HASHER") === "native") {
    throw new ConfigError(
      'AUTH_PASSWORD_HASHER=native needs --allow-ffi, which the edge does not give; use "wasm"',
    );
  }
}

function authConfig(env: Env, mode: RuntimeMode): AuthConfig {
  const adminEmail = text(env, "ADMIN_EMAIL");
  const adminPassword = text(env, "ADMIN_PASSWORD");
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError("ADMIN_EMAIL and ADMIN_PASSWORD must be set together");
  }
  if (adminPassword !== undefined && (adminPassword.length < 8 || adminPassword.length > 128)) {
    throw new ConfigError("ADMIN_PASSWORD must be 8 to 128 characters long");
  }
  const concurrency = text(env, "AUTH_HASH_CONCURRENCY");
  return {
    issuer: text(env, "AUTH_ISSUER") ?? "edge-shop",
    audience: text(env, "AUTH_AUDIENCE") ?? "edge-shop",
    signingKeys: signingKeys(env, "AUTH_SIGNING_KEYS"),
    accessTokenTtlSeconds: integer(env, "AUTH_ACCESS_TTL_SECONDS", 900, { min: 30, max: 3600 }),
    refreshTokenTtlSeconds: integer(env, "AUTH_REFRESH_TTL_SECONDS", 30 * 86400, {
      min: 300,
      max: 365 * 86400,
    }),
    refreshGraceSeconds: integer(env, "AUTH_REFRESH_GRACE_SECONDS", 15, { min: 0, max: 120 }),
    hashConcurrency: concurrency === undefined
      ? undefined
      : integer(env, "AUTH_HASH_CONCURRENCY", 1, { min: 1, max: 64 }),
    hashQueue: integer(env, "AUTH_HASH_QUEUE", 64, { min: 0, max: 10_000 }),
    hashMaxWaitMs: integer(env, "AUTH_HASH_MAX_WAIT_MS", 5000, { min: 0, max: 60_000 }),
    denylistPollMs: integer(env, "AUTH_DENYLIST_POLL_MS", 250, { min: 50, max: 60_000 }),
    passwordHasher: oneOf(
      env,
      "AUTH_PASSWORD_HASHER",
      PASSWORD_HASHERS,
      mode === "edge" ? "wasm" : "native",
    ),
    trustedOrigins: text(env, "AUTH_TRUSTED_ORIGINS")?.split(",").map((o) => o.trim()),
    rateLimits: {
      loginPerIp: rateLimit(env, "RATE_LIMIT_LOGIN_IP", { limit: 10, windowSeconds: 60 }),
      loginPerAccountIp: rateLimit(env, "RATE_LIMIT_LOGIN_ACCOUNT_IP", {
        limit: 5,
        windowSeconds: 60,
      }),
      loginPerAccount: rateLimit(env, "RATE_LIMIT_LOGIN_ACCOUNT", {
        limit: 100,
        windowSeconds: 3600,
      }),
      registerPerIp: rateLimit(env, "RATE_LIMIT_REGISTER_IP", { limit: 5, windowSeconds: 60 }),
      registerPerAccount: rateLimit(env, "RATE_LIMIT_REGISTER_ACCOUNT", {
        limit: 3,
        windowSeconds: 3600,
      }),
      refreshPerIp: rateLimit(env, "RATE_LIMIT_REFRESH_IP", { limit: 30, windowSeconds: 60 }),
    },
    admin: adminEmail && adminPassword
      ? { email: adminEmail.toLowerCase(), password: adminPassword }
      : undefined,
  };
}

/** `"<limit>/<seconds>"`, e.g. `RATE_LIMIT_LOGIN_IP=10/60`. */
function rateLimit(env: Env, name: string, fallback: RateLimitRule): RateLimitRule {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const match = /^(\d{1,6})\/(\d{1,6})$/.exec(raw);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new ConfigError(`${name} must look like "<limit>/<seconds>", e.g. "10/60", got "${raw}"`);
  }
  return { limit: Number(match[1]), windowSeconds: Number(match[2]) };
}

function signingKeys(env: Env, name: string): JsonWebKey[] | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let keys: unknown;
  try {
    keys = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${name} must be a JSON array of private JWKs`);
  }
  const valid = Array.isArray(keys) && keys.length > 0 &&
    keys.every((k) => typeof k?.kid === "string" && typeof k?.kty === "string" && k?.d);
  if (!valid) {
    throw new ConfigError(
      `${name} must be a non-empty JSON array of private JWKs, each with a kid`,
    );
  }
  return keys as JsonWebKey[];
}

const DEFAULT_SHIPPING_OPTIONS: ShippingOption[] = [
  // The storefront promises free shipping on orders over $75.
  { id: "standard", label: "Standard (3–5 business days)", priceMinor: 499, freeOverMinor: 7500 },
  { id: "express", label: "Express (1–2 business days)", priceMinor: 1499 },
  { id: "pickup", label: "Pick up at the store", priceMinor: 0 },
];

/**
 * A JSON array of `{ id, label, priceMinor, freeOverMinor? }`, e.g.
 * `[{"id":"standard","label":"Standard","priceMinor":499,"freeOverMinor":7500}]`.
 */
function shippingOptions(env: Env, name: string): ShippingOption[] {
  const raw = text(env, name);
  if (raw === undefined) return DEFAULT_SHIPPING_OPTIONS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const valid = Array.isArray(parsed) && parsed.length >= 1 && parsed.length <= 10 &&
    parsed.every((o) =>
      typeof o?.id === "string" && /^[a-z][a-z0-9_]{0,31}$/.test(o.id) &&
      typeof o?.label === "string" && o.label.length >= 1 && o.label.length <= 80 &&
      Number.isInteger(o?.priceMinor) && o.priceMinor >= 0 && o.priceMinor <= 10_000_000 &&
      (o.freeOverMinor === undefined ||
        (Number.isInteger(o.freeOverMinor) && o.freeOverMinor >= 0))
    ) && new Set(parsed.map((o) => o.id)).size === parsed.length;
  if (!valid) {
    throw new ConfigError(
      `${name} must be a JSON array of 1 to 10 {"id","label","priceMinor"} with unique ids`,
    );
  }
  return (parsed as ShippingOption[]).map(({ id, label, priceMinor, freeOverMinor }) => ({
    id,
    label,
    priceMinor,
    ...(freeOverMinor === undefined ? {} : { freeOverMinor }),
  }));
}

/** A secret of at least `minLength` characters, or undefined when unset. */
function secret(env: Env, name: string, minLength: number): string | undefined {
  const raw = text(env, name);
  if (raw !== undefined && raw.length < minLength) {
    throw new ConfigError(`${name} must be at least ${minLength} characters long`);
  }
  return raw;
}

/** Reads the process environment once; with `readToolConfigFromEnv`, the only `Deno.env` access. */
export function readConfigFromEnv(): Config {
  return loadConfig(Deno.env.toObject());
}

/** Settings of the test tools (preflight, browser tests); the shop itself never reads them. */
export interface ToolConfig {
  /** The Chromium binary that browser tests drive. */
  chromiumPath: string;
}

/** Builds the test tools' settings from environment variables. */
export function loadToolConfig(env: Env): ToolConfig {
  return { chromiumPath: text(env, "CHROMIUM_PATH") ?? "/usr/bin/chromium" };
}

/** Reads the test tools' settings from the process environment. */
export function readToolConfigFromEnv(): ToolConfig {
  return loadToolConfig(Deno.env.toObject());
}

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function integer(
  env: Env,
  name: string,
  fallback: number,
  range: { min: number; max: number },
): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(
      `${name} must be an integer from ${range.min} to ${range.max}, got "${raw}"`,
    );
  }
  return value;
}

/** A bearer token: long enough not to be guessed, and only characters a header can carry. */
function bearerToken(env: Env, name: string, minLength: number): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  if (raw.length < minLength || !/^[\w\-.~+/]+=*$/.test(raw)) {
    throw new ConfigError(
      `${name} must be at least ${minLength} characters of A-Z, a-z, 0-9, -._~+/ (e.g. openssl rand -hex 32)`,
    );
  }
  return raw;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (["1", "true", "yes"].includes(raw.toLowerCase())) return true;
  if (["0", "false", "no"].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

function databaseUrlSetting(env: Env, name: string): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  if (!/^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/)/.test(raw)) {
    throw new ConfigError(
      `${name} must start with file:, libsql://, http:// or https://, got "${raw}"`,
    );
  }
  return raw;
}

function httpUrl(name: string, raw: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol === "http:" || url.protocol === "https:") return raw.replace(/\/+$/, "");
  } catch {
    // fall through to the one-line error below
  }
  throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
}
