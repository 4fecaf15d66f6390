/**
 * The edge entry under Deno Deploy's rules: main.ts in RUNTIME_MODE=edge, started with exactly
 * `--allow-net --allow-env --allow-read --unstable-kv` and an environment holding nothing but
 * its settings, against a real sqld primary and replica and Redis behind the Upstash gateway.
 */
import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { openDatabase } from "../db/client.ts";
import { isCatalogEmpty } from "../db/seed.ts";
import {
  EDGE_FLAGS,
  freePort,
  type ShopProcess,
  startEdgeStack,
  startShopProcess,
} from "./services/edge_stack.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const PROBE = new URL("./tools/edge_permission_probe.ts", import.meta.url).pathname;

/** A browser-like request: JSON body, the shop's own Origin (cookie-authenticated posts). */
function post(shop: ShopProcess, path: string, body?: unknown, headers: HeadersInit = {}) {
  return fetch(`${shop.url}${path}`, {
    method: "POST",
    headers: {
      origin: shop.url,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The `name=value` part of the refresh cookie a response sets. */
function refreshCookie(response: Response): string {
  const cookie = response.headers.getSetCookie().find((c) =>
    c.startsWith("__Secure-shop_refresh=")
  );
  assert.ok(cookie, "sets the refresh cookie");
  return cookie.split(";")[0];
}

Deno.test("[edge entry] serves a shopper's walk with only net, env and read permissions", async (t) => {
  const stack = await startEdgeStack();
  const port = freePort();
  let shop: ShopProcess | undefined;
  try {
    shop = await startShopProcess({
      args: ["run", ...EDGE_FLAGS, MAIN],
      env: {
        ...stack.env,
        PORT: String(port),
        HOSTNAME: "127.0.0.1",
        RATE_LIMIT_LOGIN_IP: "100/60",
        RATE_LIMIT_REFRESH_IP: "100/60",
      },
      port,
    });
    const edge = shop;

    await t.step(
      "it reports the edge's permissions at start-up: no FFI, writes or subprocesses",
      async () => {
        const permissions = await edge.waitForLog((entry) => entry.msg === "permissions");
        assert.equal(permissions.mode, "edge");
        for (const name of ["net", "env", "read"]) assert.equal(permissions[name], "granted", name);
        for (const name of ["write", "ffi", "run", "sys"]) {
          assert.notEqual(permissions[name], "granted", `${name} must not be granted`);
        }
        assert.equal(
          edge.logs.find((e) => e.msg === "edge mode with permissions the edge does not give"),
          undefined,
        );
        const hasher = await edge.waitForLog((entry) => entry.msg === "password hasher");
        assert.equal(hasher.hasher, "wasm");
        assert.ok(Number(hasher.workers) >= 1);
      },
    );

    let slug = "";
    let pageHtml = "";
    await t.step("home, catalog API and a product page from the replica", async () => {
      const home = await fetch(`${edge.url}/`);
      assert.equal(home.status, 200);
      assert.match(await home.text(), /<html/i);
      const listing = await (await fetch(`${edge.url}/api/products?limit=3`)).json();
      assert.equal(listing.items.length, 3);
      slug = listing.items[0].slug;
      const page = await fetch(`${edge.url}/p/${slug}`);
      assert.equal(page.status, 200);
      pageHtml = await page.text();
      assert.match(pageHtml, /data-island="/, "the page carries an island to hydrate");
      const again = await fetch(`${edge.url}/p/${slug}`);
      assert.match(again.headers.get("x-cache") ?? "", /^(L0|L1|L2)$/, "served from the cache");
      await again.body?.cancel();
    });

    await t.step("the prebuilt island bundle the page loads is served", async () => {
      const src = /<script[^>]+src="(\/static\/build\/[^"]+\.js)"/.exec(pageHtml)?.[1];
      assert.ok(src, "the page loads a bundle from static/build");
      const bundle = await fetch(`${edge.url}${src}`);
      assert.equal(bundle.status, 200);
      assert.ok((await bundle.text()).length > 1000);
    });

    let accessToken = "";
    let cookie = "";
    await t.step("register, login (argon2id in a wasm worker), me, refresh", async () => {
      const account = { email: "edge-shopper@example.com", password: "edge correct horse" };
      assert.equal((await post(edge, "/api/auth/register", account)).status, 202);
      const login = await post(edge, "/api/auth/login", account);
      assert.equal(login.status, 200);
      accessToken = (await login.json()).accessToken;
      cookie = refreshCookie(login);
      const me = await fetch(`${edge.url}/api/auth/me`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      assert.equal(me.status, 200);
      assert.equal((await me.json()).email, account.email);
      const refreshed = await post(edge, "/api/auth/refresh", undefined, { cookie });
      assert.equal(refreshed.status, 200);
      const body = await refreshed.json();
      assert.notEqual(body.accessToken, accessToken);
      assert.notEqual(refreshCookie(refreshed), cookie, "the refresh cookie rotates");
      const wrong = await post(edge, "/api/auth/login", { ...account, password: "wrong horse!" });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
    });

    await t.step("the signing key from AUTH_SIGNING_KEYS is published as JWKS", async () => {
      const jwks = await (await fetch(`${edge.url}/.well-known/jwks.json`)).json();
      const configured = JSON.parse(stack.env.AUTH_SIGNING_KEYS)[0];
      assert.deepEqual(jwks.keys.map((k: { kid: string }) => k.kid), [configured.kid]);
      assert.equal(jwks.keys[0].d, undefined, "never the private part");
    });

    await t.step("cart and checkout: add a line, place an order, replay the key", async () => {
      const cart = await fetch(`${edge.url}/api/cart`);
      assert.equal(cart.status, 200, "an empty cart for a new visitor");
      assert.match(cart.headers.get("cache-control") ?? "", /no-store|private/);
      await cart.body?.cancel();
      const product = await (await fetch(`${edge.url}/api/products/${slug}`)).json();
      const variant = product.variants.find((v: { available: number }) => v.available > 0);
      assert.ok(variant, "the product has a variant in stock");
      const added = await post(edge, "/api/cart/items", { variantId: variant.id, quantity: 1 });
      assert.equal(added.status, 201, await added.clone().text());
      const cartCookie = added.headers.getSetCookie().find((c) => c.startsWith("cart="));
      assert.ok(cartCookie, "a signed cart cookie");
      await added.body?.cancel();
      const order = {
        email: "edge-guest@example.com",
        shippingAddress: {
          name: "Edge Guest",
          line1: "1 Edge Street",
          city: "Springfield",
          postalCode: "12345",
          country: "US",
        },
        shippingOption: "standard",
      };
      const headers = { cookie: cartCookie.split(";")[0], "idempotency-key": crypto.randomUUID() };
      const placed = await post(edge, "/api/checkout", order, headers);
      assert.equal(placed.status, 201, await placed.clone().text());
      const first = await placed.json();
      const replay = await post(edge, "/api/checkout", order, headers);
      assert.ok(replay.status < 300, `a replay answers the same order, got ${replay.status}`);
      const again = await replay.json();
      assert.equal(
        JSON.stringify(again).includes(JSON.stringify(first.order?.id ?? first.id)),
        true,
      );
    });

    await t.step("readiness checks the remote database and the platform KV", async () => {
      const ready = await fetch(`${edge.url}/readyz`);
      assert.equal(ready.status, 200, JSON.stringify(await ready.clone().json()));
      await ready.body?.cancel();
    });

    await t.step("it stops cleanly on SIGTERM", async () => {
      const status = await edge.stop(10_000);
      assert.equal(status.code, 0);
      assert.ok(edge.logs.some((entry) => entry.msg === "stopped"));
      const errors = edge.logs.filter((entry) => entry.level === "error");
      assert.deepEqual(errors, []);
    });
  } finally {
    await shop?.stop(500);
    await stack.stop();
  }
});

Deno.test("[edge entry] with the same flags, writes, FFI, subprocesses and native modules are refused", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...EDGE_FLAGS, PROBE],
    cwd: new URL("../", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const attempts: Record<string, string> = JSON.parse(new TextDecoder().decode(output.stdout));
  const expected = [
    "write a file",
    "open a KV file by path",
    "dlopen a native library",
    "spawn a subprocess",
    "import @node-rs/argon2 (native addon)",
    "import @libsql/client (native driver)",
  ];
  assert.deepEqual(Object.keys(attempts), expected);
  for (const [attempt, outcome] of Object.entries(attempts)) {
    assert.match(outcome, /^refused: /, `${attempt}: ${outcome}`);
  }
  assert.match(attempts["dlopen a native library"], /ffi/i);
  assert.match(attempts["write a file"], /write/i);
  assert.match(attempts["spawn a subprocess"], /run/i);
});

Deno.test("[edge entry] a missing setting stops it at start-up with one clear line", async () => {
  const { AUTH_SIGNING_KEYS: _keys, UPSTASH_REDIS_REST_TOKEN: _token, ...env } = {
    RUNTIME_MODE: "edge",
    DATABASE_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "token",
    AUTH_SIGNING_KEYS: "[]",
    SHOP_SECRET: "s".repeat(32),
  };
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...EDGE_FLAGS, MAIN],
    clearEnv: true,
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  assert.equal(output.code, 1);
  assert.equal(
    stderr,
    'config error: RUNTIME_MODE=edge needs UPSTASH_REDIS_REST_TOKEN, AUTH_SIGNING_KEYS (README: "Deploying to Deno Deploy")',
  );
});

Deno.test("[edge entry] migrates and seeds the database only when told", async (t) => {
  const stack = await startEdgeStack({ empty: true });
  const primary = openDatabase({
    url: stack.primaryUrl,
    syncIntervalSeconds: 1,
    timeoutMs: 10_000,
  });
  const start = async (env: Record<string, string>) => {
    const port = freePort();
    const { DATABASE_READ_URL: _replica, ...edgeEnv } = stack.env; // the primary alone: no lag
    return await startShopProcess({
      args: ["run", ...EDGE_FLAGS, MAIN],
      env: { ...edgeEnv, PORT: String(port), HOSTNAME: "127.0.0.1", ...env },
      port,
      readyTimeoutMs: 120_000,
    });
  };
  const hasProductsTable = async () =>
    (await primary.writer.all(
      sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'products'`,
    )).length === 1;
  try {
    await t.step("by default it starts on the database as it finds it", async () => {
      const shop = await start({});
      try {
        assert.equal(await hasProductsTable(), false, "no migration ran");
      } finally {
        assert.equal((await shop.stop(10_000)).code, 0);
      }
    });
    await t.step(
      "DATABASE_MIGRATE_ON_START and SEED_IF_EMPTY migrate and seed the primary",
      async () => {
        const shop = await start({ DATABASE_MIGRATE_ON_START: "true", SEED_IF_EMPTY: "true" });
        try {
          assert.equal(await hasProductsTable(), true);
          assert.equal(await isCatalogEmpty(primary.writer), false);
          const listing = await (await fetch(`${shop.url}/api/products?limit=2`)).json();
          assert.equal(listing.items.length, 2);
        } finally {
          assert.equal((await shop.stop(10_000)).code, 0);
        }
      },
    );
  } finally {
    primary.close();
    await stack.stop();
  }
});
