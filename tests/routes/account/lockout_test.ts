/**
 * Login limits as an attacker meets them: per (account, address) limits that slow a guesser,
 * a much higher per-account ceiling, only failures counted, and a wait that is the real wait.
 * Each runs over the KV limiter and over Redis behind the Upstash gateway (shared limits).
 */
import assert from "node:assert/strict";
import type { Hono } from "hono";
import { openTestServices, type TestServices } from "../../fixtures.ts";
import { startRedis } from "../../services/redis.ts";
import { startUpstashGateway } from "../../services/upstash_gateway.ts";

const ORIGIN = "http://localhost";
const OWNER = { email: "owner@example.com", password: "the owner's password" };
const OWNER_ADDRESS = "198.51.100.10";

type Store = "kv" | "redis";

// Limits below use day-long windows where a test counts attempts: fixed windows start afresh at
// their boundary, and a sequence that crossed one would count from zero again.

/** A shop behind a trusted proxy (so X-Forwarded-For picks the address) with `OWNER` registered. */
async function withShop(
  store: Store,
  limits: Record<string, string>,
  fn: (shop: TestServices) => Promise<void>,
): Promise<void> {
  const redis = store === "redis" ? await startRedis() : undefined;
  const gateway = redis
    ? await startUpstashGateway({ redisPort: redis.port, token: "test-token" })
    : undefined;
  const shop = await openTestServices({
    productCount: 0,
    env: {
      TRUST_PROXY: "true",
      RATE_LIMIT_REGISTER_IP: "1000/60",
      RATE_LIMIT_LOGIN_IP: "1000/60",
      ...(gateway
        ? {
          UPSTASH_REDIS_REST_URL: gateway.url,
          UPSTASH_REDIS_REST_TOKEN: gateway.token,
          REDIS_TIMEOUT_MS: "2000",
        }
        : {}),
      ...limits,
    },
  });
  try {
    const registered = await login(shop.app, OWNER, OWNER_ADDRESS, "register");
    assert.equal(registered.status, 202);
    await fn(shop);
  } finally {
    await shop.close();
    await gateway?.stop();
    await redis?.stop();
  }
}

async function login(
  app: Hono,
  credentials: { email: string; password: string },
  address: string,
  action: "login" | "register" = "login",
): Promise<{ status: number; retryAfter: number | undefined }> {
  const response = await app.request(`${ORIGIN}/api/auth/${action}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      origin: ORIGIN,
      "x-forwarded-for": address,
    },
    body: JSON.stringify(credentials),
  });
  await response.body?.cancel();
  const retryAfter = response.headers.get("retry-after");
  return { status: response.status, retryAfter: retryAfter ? Number(retryAfter) : undefined };
}

const wrong = { email: OWNER.email, password: "a wrong guess!" };

for (const store of ["kv", "redis"] as const) {
  Deno.test(`[auth limits] (${store}) an attacker at other addresses cannot lock the owner out`, async () => {
    await withShop(store, { RATE_LIMIT_LOGIN_ACCOUNT_IP: "5/86400" }, async ({ app }) => {
      const attackers = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "2001:db8:1:1::1"];
      for (const address of attackers) {
        const statuses = [];
        for (let i = 0; i < 8; i++) statuses.push((await login(app, wrong, address)).status);
        assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429], address);
      }
      const owner = await login(app, OWNER, OWNER_ADDRESS);
      assert.equal(owner.status, 200, "32 failed guesses elsewhere, and the owner signs in");
      const sameBlock = await login(app, wrong, "2001:db8:1:1::ffff");
      assert.equal(sameBlock.status, 429, "a new address in the attacker's /64 is the same one");
    });
  });

  Deno.test(`[auth limits] (${store}) the per-account ceiling holds a guess spread over many addresses`, async () => {
    await withShop(store, {
      RATE_LIMIT_LOGIN_ACCOUNT_IP: "3/86400",
      RATE_LIMIT_LOGIN_ACCOUNT: "10/86400",
    }, async ({ app }) => {
      const statuses = [];
      for (let i = 0; i < 14; i++) {
        statuses.push((await login(app, wrong, `203.0.113.${i % 7}`)).status);
      }
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
      assert.deepEqual(statuses.slice(10), [429, 429, 429, 429], "the 11th failure is refused");
      const fresh = await login(app, wrong, "192.0.2.99");
      assert.equal(fresh.status, 429, "also from an address that never failed");
    });
  });

  Deno.test(`[auth limits] (${store}) only failed attempts count`, async () => {
    await withShop(store, {
      RATE_LIMIT_LOGIN_ACCOUNT_IP: "2/86400",
      RATE_LIMIT_LOGIN_ACCOUNT: "2/86400",
      RATE_LIMIT_LOGIN_IP: "2/86400",
    }, async ({ app }) => {
      for (let i = 0; i < 6; i++) {
        assert.equal((await login(app, OWNER, OWNER_ADDRESS)).status, 200, `login ${i + 1}`);
      }
      assert.equal((await login(app, wrong, OWNER_ADDRESS)).status, 401);
      assert.equal((await login(app, wrong, OWNER_ADDRESS)).status, 401);
      assert.equal((await login(app, wrong, OWNER_ADDRESS)).status, 429);
    });
  });

  Deno.test(`[auth limits] (${store}) the announced wait is enough, and refused attempts do not extend it`, async () => {
    await withShop(store, { RATE_LIMIT_LOGIN_ACCOUNT_IP: "2/3" }, async ({ app }) => {
      const address = "203.0.113.50";
      // Start just after a window begins, so the refusal comes early and the wait is long.
      await new Promise((resolve) => setTimeout(resolve, 3000 - (Date.now() % 3000) + 20));
      let refused = await login(app, wrong, address);
      while (refused.status === 401) refused = await login(app, wrong, address);
      const refusedAt = Date.now();
      assert.equal(refused.status, 429);
      const wait = refused.retryAfter!;
      assert.ok(wait >= 1 && wait <= 3, `Retry-After ${wait} s is within the 3 s window`);
      // Whole seconds rounded up: the window surely lasts (wait - 1) s more. Keep hammering
      // through that part (less a second: on a busy machine an attempt reaches the limit check
      // a while after it is sent): refused attempts must not push the wait further out.
      while (Date.now() < refusedAt + (wait - 2) * 1000) {
        assert.equal((await login(app, wrong, address)).status, 429);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, refusedAt + wait * 1000 - Date.now()));
      assert.equal((await login(app, OWNER, address)).status, 200, "after the announced wait");
    });
  });
}
