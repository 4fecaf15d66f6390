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

Deno.test("[config] on Deno Deploy KV uses the platform store and nothing is seeded", () => {
  const config = loadConfig({ DENO_DEPLOYMENT_ID: "abc", DATABASE_URL: "libsql://db.example" });
  assert.equal(config.kvPath, undefined);
  assert.equal(config.seedIfEmpty, false);
});

Deno.test("[config] a bad value fails with one line naming the variable", async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: "eighty" }, /^PORT must be an integer/],
    [{ PORT: "70000" }, /^PORT must be an integer from 0 to 65535/],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL must be one of debug, info, warn, error/],
    [{ DATABASE_URL: "postgres://x" }, /^DATABASE_URL must start with file:/],
    [{ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" }, /must be set together/],
    [{ SEED_IF_EMPTY: "perhaps" }, /^SEED_IF_EMPTY must be true or false/],
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
