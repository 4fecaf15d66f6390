/**
 * `deno serve --parallel serve.ts`: two workers in one process, each with its own services, stay
 * as consistent as two nodes do, because they share state only through sqld, Redis and KV.
 *
 * The kernel hands each new connection to whichever worker accepts it, and an idle worker tends
 * to win them all, so checks send bursts of concurrent requests on fresh connections and read
 * which worker answered each one from `X-Served-By`; a check passes once both workers have
 * answered as expected.
 */
import assert from "node:assert/strict";
import {
  EDGE_FLAGS,
  freePort,
  type ShopProcess,
  startEdgeStack,
  startShopProcess,
} from "./services/edge_stack.ts";

const SERVE = new URL("../serve.ts", import.meta.url).pathname;
const DENYLIST_POLL_MS = 500;
const INVALIDATION_POLL_MS = 250;
const ADMIN = { email: "admin@example.com", password: "admin correct horse" };
const BURST = 16;

interface Answer {
  worker: string;
  status: number;
  headers: Headers;
  body: string;
}

/** Sends one request on a connection of its own; the answer names the worker. */
async function send(shop: ShopProcess, path: string, init: RequestInit = {}): Promise<Answer> {
  const client = Deno.createHttpClient({});
  try {
    const response = await fetch(`${shop.url}${path}`, {
      ...init,
      client,
      headers: { origin: shop.url, ...init.headers as Record<string, string> },
    });
    const body = await response.text();
    const worker = response.headers.get("x-served-by");
    assert.ok(worker, `${path} names the worker that answered`);
    return { worker, status: response.status, headers: response.headers, body };
  } finally {
    client.close();
  }
}

/**
 * Sends bursts of `request` until `accept` has held for answers from `workers` distinct workers
 * (an answer that fails `accept` resets that worker); resolves with the milliseconds it took.
 */
async function untilEveryWorker(
  request: () => Promise<Answer>,
  accept: (answer: Answer) => boolean,
  options: { workers: number; timeoutMs: number },
): Promise<number> {
  const started = performance.now();
  const satisfied = new Set<string>();
  const last = new Map<string, string>();
  while (performance.now() - started < options.timeoutMs) {
    for (const answer of await Promise.all(Array.from({ length: BURST }, request))) {
      if (accept(answer)) satisfied.add(answer.worker);
      else satisfied.delete(answer.worker);
      last.set(
        answer.worker,
        `${answer.status} ${answer.headers.get("x-cache")} ${answer.body.slice(0, 300)}`,
      );
    }
    if (satisfied.size >= options.workers) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    `Only ${satisfied.size} of ${options.workers} workers within ${options.timeoutMs} ms`,
  );
}

function jsonPost(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

async function login(shop: ShopProcess, account: { email: string; password: string }) {
  const answer = await send(shop, "/api/auth/login", jsonPost(account));
  assert.equal(answer.status, 200, answer.body);
  const cookie = answer.headers.getSetCookie().find((c) => c.startsWith("__Secure-shop_refresh="));
  return { token: JSON.parse(answer.body).accessToken as string, cookie: cookie!.split(";")[0] };
}

Deno.test("[serve] two deno serve --parallel workers agree on logouts, prices and rate limits", async (t) => {
  const stack = await startEdgeStack();
  const port = freePort();
  let shop: ShopProcess | undefined;
  try {
    shop = await startShopProcess({
      args: [
        "serve",
        "--parallel",
        ...EDGE_FLAGS,
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
        SERVE,
      ],
      env: {
        ...stack.env,
        DENO_JOBS: "2",
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        AUTH_DENYLIST_POLL_MS: String(DENYLIST_POLL_MS),
        CACHE_INVALIDATION_POLL_MS: String(INVALIDATION_POLL_MS),
        RATE_LIMIT_LOGIN_IP: "1000/60",
        RATE_LIMIT_REGISTER_IP: "1000/60",
        RATE_LIMIT_LOGIN_ACCOUNT: "5/60",
      },
      port,
    });
    const served = shop;
    const workers = { workers: 2, timeoutMs: 45_000 };

    await t.step("two workers, each with its own services opened at start-up", async () => {
      await served.waitForLog((entry) => entry.msg === "serving");
      const instances = () =>
        new Set(served.logs.filter((entry) => entry.msg === "serving").map((e) => e.instance));
      await untilEveryWorker(() => send(served, "/healthz"), (a) => a.status === 200, workers);
      assert.equal(instances().size, 2);
    });

    await t.step(
      "a logout on one worker is honoured by the other within the denylist poll",
      async () => {
        const shopper = { email: "parallel@example.com", password: "parallel correct horse" };
        assert.equal((await send(served, "/api/auth/register", jsonPost(shopper))).status, 202);
        const { token, cookie } = await login(served, shopper);
        const me = () =>
          send(served, "/api/auth/me", { headers: { authorization: `Bearer ${token}` } });
        await untilEveryWorker(me, (a) => a.status === 200, workers);
        const logout = await send(served, "/api/auth/logout", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, cookie },
        });
        assert.equal(logout.status, 204);
        const ms = await untilEveryWorker(me, (a) => a.status === 401, {
          ...workers,
          timeoutMs: DENYLIST_POLL_MS + 30_000,
        });
        console.log(
          `logout on ${logout.worker.slice(0, 8)}: refused by both workers after ${
            ms.toFixed(0)
          } ms`,
        );
      },
    );

    await t.step("an admin price change on one worker is served by both", async () => {
      const listing = JSON.parse((await send(served, "/api/products?limit=1")).body);
      const path = `/api/products/${listing.items[0].slug}`;
      const product = () => send(served, path);
      // Both workers hold the product in their own in-process cache before the change.
      await untilEveryWorker(product, (a) => a.headers.get("x-cache") === "L0", workers);
      const before = JSON.parse((await product()).body);
      const variant = before.variants[0];
      const newPrice = variant.priceMinor + 1234;
      const admin = await login(served, ADMIN);
      const change = await send(served, `/api/admin/products/${before.id}/price`, {
        method: "PUT",
        headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
        body: JSON.stringify({ variants: [{ variantId: variant.id, priceMinor: newPrice }] }),
      });
      assert.equal(change.status, 200, change.body);
      const ms = await untilEveryWorker(
        product,
        (a) => JSON.parse(a.body).variants[0].priceMinor === newPrice,
        { ...workers, timeoutMs: INVALIDATION_POLL_MS + 30_000 },
      );
      console.log(
        `price change on ${change.worker.slice(0, 8)}: served by both after ${ms.toFixed(0)} ms`,
      );
    });

    await t.step("login attempts on both workers count against one limit", async () => {
      // Concurrent attempts on fresh connections spread over the workers; the limit is 5. A
      // round that happened to reach one worker proves nothing, so it is repeated on a new email.
      for (let round = 1;; round++) {
        const victim = { email: `victim-${round}@example.com`, password: "wrong password!" };
        const attempts = await Promise.all(
          Array.from({ length: 12 }, () => send(served, "/api/auth/login", jsonPost(victim))),
        );
        // Past the limit: a 401 (checked, wrong password), or a 503 when the hasher's queue was
        // full on a busy machine; either way it used one of the 5 attempts.
        const count = (status: number) => attempts.filter((a) => a.status === status).length;
        const statuses = attempts.map((a) => a.status).sort().join(",");
        assert.equal(count(401) + count(503), 5, statuses);
        assert.equal(count(429), 7, statuses);
        const answeredBy = new Set(attempts.map((a) => a.worker));
        if (answeredBy.size === 2) break;
        assert.ok(round < 10, "10 rounds of 12 concurrent logins all reached one worker");
      }
    });

    await t.step("SIGTERM drains both workers, closes their services and exits 0", async () => {
      const status = await served.stop(15_000);
      assert.equal(status.code, 0);
      const stopped = served.logs.filter((entry) => entry.msg === "stopped");
      assert.equal(stopped.length, 2, "each worker closed its services");
      assert.deepEqual(served.logs.filter((entry) => entry.level === "error"), []);
    });
  } finally {
    await shop?.stop(500);
    await stack.stop();
  }
});
