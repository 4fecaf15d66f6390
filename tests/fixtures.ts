/**
 * Shared test fixtures: real libSQL files and Deno KV in temp dirs, never mocks.
 */
import type { Hono } from "hono";
import { type Config, loadConfig } from "../edge/platform/config.ts";
import { createLogger, type Logger } from "../edge/platform/log.ts";
import { type AppServices, closeServices, createApp, openServices } from "../main.ts";

export interface TestServicesOptions {
  /** Products in the seeded catalog; 0 skips seeding. */
  productCount?: number;
  /** Extra environment for loadConfig (e.g. UPSTASH_REDIS_REST_URL). */
  env?: Record<string, string>;
  /** Sees every SQL statement drizzle sends. */
  onQuery?: (sql: string) => void;
  logger?: Logger;
  /** Reuse this temp dir (a second instance over the same data); created when absent. */
  dir?: string;
}

export interface TestServices {
  dir: string;
  config: Config;
  services: AppServices;
  app: Hono;
  close(): Promise<void>;
}

/**
 * Opens the app's real services (migrated and seeded libSQL file, Deno KV) in a temp dir through
 * the same `openServices` the shop uses, and builds the app over them.
 */
export async function openTestServices(options: TestServicesOptions = {}): Promise<TestServices> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "shop-test-" });
  const productCount = options.productCount ?? 300;
  const config = loadConfig({
    DATA_DIR: dir,
    LOG_LEVEL: "error",
    SEED_IF_EMPTY: productCount > 0 ? "true" : "false",
    ...options.env,
  });
  const logger = options.logger ?? createLogger("error", { write: () => {} });
  const services = await openServices(config, logger, {
    onQuery: options.onQuery,
    seedProductCount: productCount,
  });
  const app = createApp(services);
  return {
    dir,
    config,
    services,
    app,
    async close() {
      await closeServices(services);
      if (ownsDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Counts SQL statements; pass `counter.onQuery` to openTestServices. */
export function createQueryCounter() {
  const statements: string[] = [];
  return {
    onQuery: (sql: string) => {
      statements.push(sql);
    },
    get count() {
      return statements.length;
    },
    statements,
    reset() {
      statements.length = 0;
    },
  };
}

/**
 * Closes `fixture` once the calling test module is done, whether its tests passed, failed or
 * were filtered out (`Deno.test.afterAll`), so a module can share one fixture across its tests
 * without a test whose only job is teardown. Hooks run last-registered first.
 *
 * @example const shop = closeAfterAll(await openTestServices());
 */
export function closeAfterAll<T extends { close(): unknown }>(fixture: T): T {
  Deno.test.afterAll(async () => {
    await fixture.close();
  });
  return fixture;
}

/** An account for tests that sign in through the real routes. */
export interface TestAccount {
  email: string;
  password: string;
}

/**
 * Signs in through `POST /api/auth/login` (registering first when `register` is set) and
 * returns the access token, so tests carry the token the shop itself issued.
 */
export async function accessTokenFor(
  app: Hono,
  account: TestAccount,
  options: { register?: boolean } = {},
): Promise<string> {
  const origin = "http://localhost";
  const post = (path: string) =>
    app.request(`${origin}${path}`, {
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: JSON.stringify(account),
    });
  if (options.register) {
    const registered = await post("/api/auth/register");
    await registered.body?.cancel();
    if (registered.status !== 202) throw new Error(`register answered ${registered.status}`);
  }
  const login = await post("/api/auth/login");
  if (login.status !== 200) {
    throw new Error(`login as "${account.email}" answered ${login.status}: ${await login.text()}`);
  }
  return (await login.json()).accessToken;
}
