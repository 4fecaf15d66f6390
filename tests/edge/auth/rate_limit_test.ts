import assert from "node:assert/strict";
import { kvFixedWindow } from "../../../edge/auth/rate_limit.ts";

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
        () => kvFixedWindow(kv, { scope, identifier: "10.0.0.1" }, rule, { now: at }),
      ),
    );
    const took = performance.now() - started;
    assert.ok(results.every((r) => r.success), "no false 429 under contention");
    const remaining = results.map((r) => r.remaining).sort((a, b) => a - b);
    assert.equal(remaining[0], rule.limit - 300, "every hit was counted once");
    console.log(`  300 concurrent hits on one key in ${Math.round(took)} ms`);
  });
});

Deno.test("[rate limit] KV: exactly `limit` hits pass in a window, and the next starts empty at the announced reset", async () => {
  await withKv(async (kv) => {
    const rule = { limit: 5, windowSeconds: 60 };
    const windowStart = Date.UTC(2026, 0, 1, 12, 0, 0);
    const hit = (identifier: string, now: number) =>
      kvFixedWindow(kv, { scope, identifier }, rule, { now });
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await hit("a", windowStart + 1000 + i));
    assert.deepEqual(results.map((r) => r.success), [
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    const refused = results.at(-1)!;
    assert.equal(refused.reset, windowStart + 60_000, "the wait announced is to the window's end");
    assert.equal((await hit("b", windowStart + 1000)).success, true, "limits are per identifier");
    assert.equal((await hit("a", refused.reset - 1)).success, false, "refused until the reset");
    assert.equal((await hit("a", refused.reset)).success, true, "and not one moment longer");
  });
});

Deno.test("[rate limit] KV: a refund gives a hit back, so only failures use the limit", async () => {
  await withKv(async (kv) => {
    const rule = { limit: 2, windowSeconds: 60 };
    const now = Date.UTC(2026, 0, 1, 12, 0, 5);
    const key = { scope, identifier: "owner" };
    for (let i = 0; i < 10; i++) {
      assert.equal((await kvFixedWindow(kv, key, rule, { now })).success, true, `login ${i}`);
      await kvFixedWindow(kv, key, rule, { now, refund: true });
    }
    assert.equal((await kvFixedWindow(kv, key, rule, { now })).remaining, 1);
  });
});

Deno.test("[rate limit] KV: counters of finished windows are deleted, so storage stays bounded", async () => {
  await withKv(async (kv) => {
    const rule = { limit: 100, windowSeconds: 60 };
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    for (const identifier of ["a", "b", "c"]) {
      await kvFixedWindow(kv, { scope, identifier }, rule, { now: t0 + 1000 });
    }
    const window0 = Math.floor((t0 + 1000) / 60_000);
    const count = async (window: number) => {
      let n = 0;
      for await (const _ of kv.list({ prefix: [...scope, window] })) n++;
      return n;
    };
    assert.equal(await count(window0), 3);
    await kvFixedWindow(kv, { scope, identifier: "a" }, rule, { now: t0 + 121_000 }); // two windows later
    for (let i = 0; i < 100 && await count(window0) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(await count(window0), 0);
  });
});
