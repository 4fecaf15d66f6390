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
