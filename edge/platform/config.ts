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

export interface Config {
  port: number;
  hostname: string;
  dataDir: string;
  /** Human-readable name of this edge node, used in logs and cache metrics. */
  region: string;
  logLevel: LogLevel;
  database: DatabaseConfig & {
    /** After a shopper's write, their own reads go to the primary for this long. */
    readYourWritesWindowMs: number;
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
    /** A TLS-terminating proxy in front: believe its X-Forwarded-Proto and X-Forwarded-For. */
    trustProxy: boolean;
    /** Every request arrives over HTTPS whatever its URL says (Deno Deploy). */
    httpsOnly: boolean;
    /** How long `/readyz` reuses one evaluation of the dependency checks. */
    readinessCacheMs: number;
  };
  auth: AuthConfig;
  cache: CacheConfig;
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
  /** How long one node holds the cross-node revalidation lease. */
  leaseMs: number;
  /** How long a miss waits for another node's fetch before fetching itself. */
  leaseWaitMs: number;
  /** How often each node polls Redis for invalidations from other nodes. */
  invalidationPollMs: number;
  /** Fraction (0-0.5) by which fresh lifetimes are randomly spread so keys do not expire together. */
  jitter: number;
  kinds: Record<CacheKind, CacheWindows>;
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

/** Builds the configuration from environment variables, failing on the first bad value. */
export function loadConfig(env: Env): Config {
  const dataDir = text(env, "DATA_DIR") ?? "./data";
  const onDeploy = text(env, "DENO_DEPLOYMENT_ID") !== undefined;
  const upstashUrl = text(env, "UPSTASH_REDIS_REST_URL");
  const upstashToken = text(env, "UPSTASH_REDIS_REST_TOKEN");
  if ((upstashUrl === undefined) !== (upstashToken === undefined)) {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set together",
    );
  }
  const databaseUrl = databaseUrlSetting(env, "DATABASE_URL") ?? `file:${dataDir}/shop.db`;
  return {
    port: integer(env, "PORT", 8000, { min: 0, max: 65535 }),
    hostname: text(env, "HOSTNAME") ?? "0.0.0.0",
    dataDir,
    region: text(env, "REGION") ?? "local",
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
    },
    kvPath: text(env, "KV_PATH") ?? (onDeploy ? undefined : `${dataDir}/kv.sqlite`),
    upstash: upstashUrl && upstashToken
      ? {
        url: httpUrl("UPSTASH_REDIS_REST_URL", upstashUrl),
        token: upstashToken,
        timeoutMs: integer(env, "REDIS_TIMEOUT_MS", 50, { min: 5, max: 10_000 }),
      }
      : undefined,
    seedIfEmpty: boolean(env, "SEED_IF_EMPTY", !onDeploy),
    metricsToken: secret(env, "METRICS_TOKEN", 16),
    http: {
      requestTimeoutMs: integer(env, "REQUEST_TIMEOUT_MS", 10_000, { min: 100, max: 120_000 }),
      bodyLimitBytes: integer(env, "BODY_LIMIT_BYTES", 64 * 1024, { min: 1024, max: 10 << 20 }),
      shutdownDeadlineMs: integer(env, "SHUTDOWN_DEADLINE_MS", 10_000, { min: 0, max: 120_000 }),
      trustProxy: boolean(env, "TRUST_PROXY", false),
      httpsOnly: onDeploy,
      readinessCacheMs: integer(env, "READINESS_CACHE_MS", 5000, { min: 0, max: 60_000 }),
    },
    auth: authConfig(env),
    cache: {
      l0MaxBytes: integer(env, "CACHE_L0_MAX_BYTES", 64 << 20, { min: 0, max: 4 << 30 }),
      tierBudgetMs: integer(env, "CACHE_TIER_BUDGET_MS", 50, { min: 1, max: 10_000 }),
      leaseMs: integer(env, "CACHE_LEASE_MS", 3000, { min: 100, max: 60_000 }),
      leaseWaitMs: integer(env, "CACHE_LEASE_WAIT_MS", 300, { min: 0, max: 10_000 }),
      invalidationPollMs: integer(env, "CACHE_INVALIDATION_POLL_MS", 250, { min: 20, max: 60_000 }),
      jitter: integer(env, "CACHE_TTL_JITTER_PERCENT", 10, { min: 0, max: 50 }) / 100,
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

function authConfig(env: Env): AuthConfig {
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

/** Reads the process environment once; the only `Deno.env` access in the project. */
export function readConfigFromEnv(): Config {
  return loadConfig(Deno.env.toObject());
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
function secret(env: Env, name: string, minLength: number): string | undefined {
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
