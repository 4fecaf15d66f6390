import assert from "node:assert/strict";
import { kvSlidingWindow } from "../../../edge/auth/rate_limit.ts";

async function withKv(fn: (kv: Deno.Kv) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "shop-ratelimit-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const scope = ["rl", "loginIp"];

Deno.test("[rate limit] KV: hundreds of concurrent hits on one key are all counted, none refused by contention", async () => {
  await withKv(async (kv) => {
    const rule = { limit: 10_000, windowSeconds: 60 };
    const at = Date.UTC(2026, 0, 1, 12, 0, 10);
    const started = performance.now();
    const results = await Promise.all(
      Array.from(
        { length: 300 },
        () => kvSlidingWindow(kv, { scope, identifier: "10.0.0.1" }, rule, at),
      ),
    );
    const took = performance.now() - started;
    assert.ok(results.every((r) => r.success), "no false 429 under contention");
    const remaining = results.map((r) => r.remaining).sort((a, b) => a - b);
    assert.equal(remaining[0], rule.limit - 300, "every hit was counted once");
    console.log(`  300 concurrent hits on one key in ${Math.round(took)} ms`);
  });
});

Deno.test("[rate limit] KV: exactly `limit` hits pass in a window, and the previous window weighs in", async () => {
  await withKv(async (kv) => {
    const rule = { limit: 5, windowSeconds: 60 };
    const windowStart = Date.UTC(2026, 0, 1, 12, 0, 0);
    const passed = [];
    for (let i = 0; i < 8; i++) {
      passed.push(
        (await kvSlidingWindow(kv, { scope, identifier: "a" }, rule, windowStart + 1000)).success,
      );
    }
    assert.deepEqual(passed, [true, true, true, true, true, false, false, false]);
    const other = await kvSlidingWindow(kv, { scope, identifier: "b" }, rule, windowStart + 1000);
    assert.equal(other.success, true, "limits are per identifier");
    // 6 s into the next window, 90% of the previous window's 8 hits still count: 7 + 1 > 5.
    const next = await kvSlidingWindow(kv, { scope, identifier: "a" }, rule, windowStart + 66_000);
    assert.equal(next.success, false);
    // Near the end of the next window the old hits have slid out.
    const late = await kvSlidingWindow(kv, { scope, identifier: "a" }, rule, windowStart + 119_000);
    assert.equal(late.success, true);
  });
});

Deno.test("[rate limit] KV: counters of finished windows are deleted, so storage stays bounded", async () => {
  await withKv(async (kv) => {
    const rule = { limit: 100, windowSeconds: 60 };
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    for (const identifier of ["a", "b", "c"]) {
      await kvSlidingWindow(kv, { scope, identifier }, rule, t0 + 1000);
    }
    const window0 = Math.floor((t0 + 1000) / 60_000);
    const count = async (window: number) => {
      let n = 0;
      for await (const _ of kv.list({ prefix: [...scope, window] })) n++;
      return n;
    };
    assert.equal(await count(window0), 3);
    await kvSlidingWindow(kv, { scope, identifier: "a" }, rule, t0 + 121_000); // two windows later
    for (let i = 0; i < 100 && await count(window0) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(await count(window0), 0);
  });
});
