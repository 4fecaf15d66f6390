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
  database: {
    /** The writer: a libSQL file (`file:`) or the primary (`http(s)://`, `libsql://`). */
    url: string;
    authToken?: string;
    /** The reader: a sqld replica (`http(s)://`) or an embedded replica file (`file:`) synced from `url`. */
    readUrl?: string;
    /** Seconds between background syncs of an embedded replica. */
    syncIntervalSeconds: number;
    /** Budget for one database call before it is abandoned. */
    timeoutMs: number;
  };
  /** Deno KV path; `undefined` means the platform default (Deno Deploy). */
  kvPath?: string;
  upstash?: { url: string; token: string; timeoutMs: number };
  /** Seeds the demo catalog when the database has no products. */
  seedIfEmpty: boolean;
  http: {
    requestTimeoutMs: number;
    bodyLimitBytes: number;
    shutdownDeadlineMs: number;
  };
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
    http: {
      requestTimeoutMs: integer(env, "REQUEST_TIMEOUT_MS", 10_000, { min: 100, max: 120_000 }),
      bodyLimitBytes: integer(env, "BODY_LIMIT_BYTES", 64 * 1024, { min: 1024, max: 10 << 20 }),
      shutdownDeadlineMs: integer(env, "SHUTDOWN_DEADLINE_MS", 10_000, { min: 0, max: 120_000 }),
    },
  };
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
