import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../../edge/platform/config.ts";

Deno.test("[config] defaults describe the embedded shop", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8000);
  assert.equal(config.database.url, "file:./data/shop.db");
  assert.equal(config.database.readUrl, undefined);
  assert.equal(config.kvPath, "./data/kv.sqlite");
  assert.equal(config.upstash, undefined);
  assert.equal(config.logLevel, "info");
  assert.equal(config.seedIfEmpty, true);
});

/** The settings an edge deployment provides (README "Deploying to Deno Deploy"). */
function edgeEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    RUNTIME_MODE: "edge",
    DATABASE_URL: "https://primary.example",
    DATABASE_READ_URL: "https://replica.example",
    UPSTASH_REDIS_REST_URL: "https://redis.example",
    UPSTASH_REDIS_REST_TOKEN: "token",
    AUTH_SIGNING_KEYS: JSON.stringify([{ kty: "OKP", crv: "Ed25519", d: "x", x: "y", kid: "k1" }]),
    SHOP_SECRET: "s".repeat(32),
    ...overrides,
  };
}

Deno.test("[config] local mode opens the embedded parts and migrates at start-up", () => {
  const config = loadConfig({});
  assert.equal(config.mode, "local");
  assert.equal(config.database.migrateOnStart, true);
  assert.equal(config.auth.passwordHasher, "native");
});

Deno.test("[config] edge mode uses the platform KV, wasm hashing and never migrates or seeds unless told", async (t) => {
  await t.step("chosen by RUNTIME_MODE", () => {
    const config = loadConfig(edgeEnv());
    assert.equal(config.mode, "edge");
    assert.equal(config.kvPath, undefined);
    assert.equal(config.seedIfEmpty, false);
    assert.equal(config.database.migrateOnStart, false);
    assert.equal(config.auth.passwordHasher, "wasm");
    assert.equal((config.auth.signingKeys?.[0] as { kid?: string }).kid, "k1");
  });
  await t.step("chosen by Deno Deploy's DENO_DEPLOYMENT_ID", () => {
    const { RUNTIME_MODE: _, ...env } = edgeEnv();
    assert.equal(loadConfig({ ...env, DENO_DEPLOYMENT_ID: "abc" }).mode, "edge");
  });
  await t.step("migrating and seeding when told", () => {
    const config = loadConfig(edgeEnv({ DATABASE_MIGRATE_ON_START: "true", SEED_IF_EMPTY: "1" }));
    assert.equal(config.database.migrateOnStart, true);
    assert.equal(config.seedIfEmpty, true);
  });
});

Deno.test("[config] edge mode refuses, in one line, what the edge cannot give", async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { RUNTIME_MODE: "edge" },
      /^RUNTIME_MODE=edge needs DATABASE_URL, UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, AUTH_SIGNING_KEYS, SHOP_SECRET /,
    ],
    [edgeEnv({ AUTH_SIGNING_KEYS: "" }), /^RUNTIME_MODE=edge needs AUTH_SIGNING_KEYS /],
    [edgeEnv({ DATABASE_URL: "file:./data/shop.db" }), /^DATABASE_URL must be a remote libSQL URL/],
    [edgeEnv({ DATABASE_READ_URL: "file:replica.db" }), /^DATABASE_READ_URL must be a remote/],
    [edgeEnv({ KV_PATH: "./kv.sqlite" }), /^KV_PATH must not be set in edge mode/],
    [edgeEnv({ AUTH_PASSWORD_HASHER: "native" }), /needs --allow-ffi/],
    [{ RUNTIME_MODE: "cloud" }, /^RUNTIME_MODE must be one of local, edge/],
  ];
  for (const [env, message] of cases) {
    await t.step(message.source.slice(1, 40), () => {
      assert.throws(() => loadConfig(env), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    });
  }
});

Deno.test("[config] an edge outside the primary region keeps Redis off its request path", async (t) => {
  await t.step("in the primary region (the default): Redis is near", () => {
    const config = loadConfig({ REGION: "eu-west" });
    assert.equal(config.primaryRegion, "eu-west");
    assert.equal(config.cache.redisInRegion, true);
    assert.equal(config.cache.redisBudgetMs, undefined, "the tier budget applies");
  });
  await t.step("elsewhere: Redis carries events, with room for the distance", () => {
    const upstash = { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1", UPSTASH_REDIS_REST_TOKEN: "t" };
    const far = loadConfig({ REGION: "ap-southeast", PRIMARY_REGION: "us-east", ...upstash });
    assert.equal(far.cache.redisInRegion, false);
    assert.equal(far.upstash?.timeoutMs, 1000);
    assert.equal(far.cache.redisBudgetMs, 1000);
    const tuned = loadConfig({
      REGION: "ap-southeast",
      PRIMARY_REGION: "us-east",
      REDIS_TIMEOUT_MS: "400",
      ...upstash,
    });
    assert.equal(tuned.cache.redisBudgetMs, 400);
  });
});

Deno.test("[config] on Deno Deploy KV uses the platform store and nothing is seeded", () => {
  const { RUNTIME_MODE: _, ...env } = edgeEnv();
  const config = loadConfig({ ...env, DENO_DEPLOYMENT_ID: "abc" });
  assert.equal(config.kvPath, undefined);
  assert.equal(config.seedIfEmpty, false);
  assert.equal(config.http.httpsOnly, true, "Deploy terminates TLS: cookies always Secure");
});

Deno.test("[config] hostile-world defaults: no proxy trusted, no /metrics, short grace and poll", () => {
  const config = loadConfig({});
  assert.equal(config.http.trustProxy, false);
  assert.equal(config.http.httpsOnly, false);
  assert.equal(config.metricsToken, undefined);
  assert.equal(config.auth.refreshGraceSeconds, 15);
  assert.equal(config.auth.denylistPollMs, 250);
  assert.deepEqual(config.auth.rateLimits.loginPerAccountIp, { limit: 5, windowSeconds: 60 });
  assert.deepEqual(config.auth.rateLimits.loginPerAccount, { limit: 100, windowSeconds: 3600 });
});

Deno.test("[config] a bad value fails with one line naming the variable", async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "eighty" }, /^PORT must be an integer/],
    [{ PORT: "70000" }, /^PORT must be an integer from 0 to 65535/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL must be one of debug, info, warn, error/],
    [{ DATABASE_URL: "postgres://x" }, /^DATABASE_URL must start with file:/],
    [{ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" }, /must be set together/],
    [{ SEED_IF_EMPTY: "perhaps" }, /^SEED_IF_EMPTY must be true or false/],
    [{ TRUST_PROXY: "maybe" }, /^TRUST_PROXY must be true or false/],
    [{ METRICS_TOKEN: "short" }, /^METRICS_TOKEN must be at least 16 characters/],
    [{ METRICS_TOKEN: "long enough but has spaces" }, /^METRICS_TOKEN must be at least 16/],
    [{ AUTH_REFRESH_GRACE_SECONDS: "600" }, /^AUTH_REFRESH_GRACE_SECONDS must be an integer/],
    [{ RATE_LIMIT_LOGIN_ACCOUNT_IP: "5 per minute" }, /^RATE_LIMIT_LOGIN_ACCOUNT_IP must look/],
  ];
  for (const [env, message] of cases) {
    await t.step(Object.keys(env).join(","), () => {
      assert.throws(() => loadConfig(env), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    });
  }
});

Deno.test("[config] the shop refuses to start on a bad setting with one clear line", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "-A", new URL("../../../main.ts", import.meta.url).pathname],
    env: { PORT: "not-a-port", DATA_DIR: await Deno.makeTempDir() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  assert.equal(output.code, 1);
  assert.equal(stderr, 'config error: PORT must be an integer from 0 to 65535, got "not-a-port"');
});

Deno.test("[config] capacity limits have bounded defaults and refuse nonsense", () => {
  const { http } = loadConfig({});
  assert.deepEqual(
    [http.listenBacklog, http.maxConnections, http.headerTimeoutMs, http.idleTimeoutMs],
    [4096, 12_000, 10_000, 15_000],
  );
  assert.deepEqual(http.admission, {
    maxInFlight: 256,
    queueLimit: 1024,
    queueTimeoutMs: 1000,
    lowPriorityLagMs: 100,
    highPriorityLagMs: 500,
  });
  const tuned = loadConfig({
    MAX_CONNECTIONS: "500",
    HEADER_TIMEOUT_MS: "2000",
    MAX_IN_FLIGHT: "8",
  });
  assert.equal(tuned.http.maxConnections, 500);
  assert.equal(tuned.http.headerTimeoutMs, 2000);
  assert.equal(tuned.http.admission.maxInFlight, 8);
  assert.throws(
    () => loadConfig({ MAX_CONNECTIONS: "0" }),
    /MAX_CONNECTIONS must be an integer from 1/,
  );
  assert.throws(
    () => loadConfig({ HEADER_TIMEOUT_MS: "5" }),
    /HEADER_TIMEOUT_MS must be an integer from 100/,
  );
});

Deno.test("[config] the buying path's settings have defaults and refuse bad values", async (t) => {
  const config = loadConfig({});
  assert.deepEqual(config.cart, { maxLines: 50, maxQuantity: 99, cookieMaxAgeSeconds: 30 * 86400 });
  assert.deepEqual(config.checkout.shippingOptions.map((o) => o.id), [
    "standard",
    "express",
    "pickup",
  ]);
  assert.equal(config.outbox.workerEnabled, true);
  assert.equal(config.payments.webhookSecret, undefined);
  const custom = loadConfig({
    SHIPPING_OPTIONS: '[{"id":"post","label":"Post","priceMinor":300}]',
  });
  assert.deepEqual(custom.checkout.shippingOptions, [{
    id: "post",
    label: "Post",
    priceMinor: 300,
  }]);
  const cases: [Record<string, string>, RegExp][] = [
    [{ SHOP_SECRET: "short" }, /^SHOP_SECRET must be at least 32 characters/],
    [{ PAYMENT_WEBHOOK_SECRET: "short" }, /^PAYMENT_WEBHOOK_SECRET must be at least 16/],
    [{ CART_MAX_QUANTITY: "0" }, /^CART_MAX_QUANTITY must be an integer from 1 to 999/],
    [{ SHIPPING_OPTIONS: "standard" }, /^SHIPPING_OPTIONS must be a JSON array/],
    [{ SHIPPING_OPTIONS: '[{"id":"x","label":"X","priceMinor":-1}]' }, /^SHIPPING_OPTIONS/],
    [{ OUTBOX_WORKER: "sometimes" }, /^OUTBOX_WORKER must be true or false/],
    [{ PUBLIC_URL: "shop" }, /^PUBLIC_URL must be an http\(s\) URL/],
  ];
  for (const [env, message] of cases) {
    await t.step(Object.keys(env).join(","), () => {
      assert.throws(() => loadConfig(env), (error: Error) => message.test(error.message));
    });
  }
});
