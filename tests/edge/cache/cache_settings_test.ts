import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../../edge/platform/config.ts";

Deno.test("[cache settings] the size bounds and the negative TTL have defaults and can be set", () => {
  const defaults = loadConfig({}).cache;
  assert.deepEqual(
    [defaults.notFoundTtlMs, defaults.kvMaxEntries, defaults.redisMaxEntries],
    [30_000, 20_000, 50_000],
  );
  const set = loadConfig({
    CACHE_NOT_FOUND_TTL_S: "5",
    CACHE_KV_MAX_ENTRIES: "100",
    CACHE_REDIS_MAX_ENTRIES: "200",
  }).cache;
  assert.deepEqual([set.notFoundTtlMs, set.kvMaxEntries, set.redisMaxEntries], [5000, 100, 200]);
});

Deno.test("[cache settings] a bound of zero or below is refused at start-up", () => {
  for (const name of ["CACHE_KV_MAX_ENTRIES", "CACHE_REDIS_MAX_ENTRIES"]) {
    assert.throws(
      () => loadConfig({ [name]: "0" }),
      (error: unknown) =>
        error instanceof ConfigError && error.message.startsWith(`${name} must be an integer`),
    );
  }
  assert.throws(() => loadConfig({ CACHE_NOT_FOUND_TTL_S: "-1" }), ConfigError);
});
