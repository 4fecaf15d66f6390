import assert from "node:assert/strict";
import { asc, eq } from "drizzle-orm";
import { products, variants } from "../../../db/schema.ts";
import {
  accessTokenFor,
  closeAfterAll,
  openTestServices,
  type TestAccount,
} from "../../fixtures.ts";

// The whole shop from createApp: the admin guard, the body limit and the security headers apply.
const ADMIN: TestAccount = { email: "admin@example.com", password: "admin-password-1" };
const shop = closeAfterAll(
  await openTestServices({
    productCount: 50,
    env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
  }),
);
const { reader } = shop.services.database;
const adminToken = await accessTokenFor(shop.app, ADMIN);

/** Active products in id order: each test takes its own, so none depends on another's writes. */
const active = await reader.select().from(products).where(eq(products.isActive, true))
  .orderBy(asc(products.id)).limit(5);

function send(method: string, path: string, body: unknown, token: string | null = adminToken) {
  return shop.app.request(`http://localhost/api/admin/products${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function row(id: number) {
  const [found] = await reader.select().from(products).where(eq(products.id, id));
  return found;
}

function variantsOf(productId: number) {
  return reader.select().from(variants).where(eq(variants.productId, productId))
    .orderBy(asc(variants.id));
}

Deno.test("[admin products] refuses a request without a token (401) and a customer's (403)", async (t) => {
  const product = active[0];
  const before = await row(product.id);
  await t.step("no token", async () => {
    const response = await send("PATCH", `/${product.id}`, { name: "Anonymous" }, null);
    assert.equal(response.status, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal((await response.json()).error.code, "unauthorized");
  });
  await t.step("a forged token", async () => {
    const response = await send("PATCH", `/${product.id}`, { name: "Forged" }, "not.a.token");
    assert.equal(response.status, 401);
    await response.body?.cancel();
  });
  await t.step("a signed-in customer", async () => {
    const customer = { email: "customer@example.com", password: "customer-password-1" };
    const token = await accessTokenFor(shop.app, customer, { register: true });
    const response = await send("PATCH", `/${product.id}`, { name: "Customer" }, token);
    assert.equal(response.status, 403);
    assert.equal((await response.json()).error.code, "forbidden");
  });
  assert.deepEqual(await row(product.id), before, "nothing changed");
});

Deno.test("[admin products] answers behind the shop's security headers and body limit", async () => {
  const product = active[0];
  const ok = await send("PATCH", `/${product.id}`, { description: "Checked for headers." });
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
  assert.equal(ok.headers.get("x-content-type-options"), "nosniff");
  assert.equal(ok.headers.get("cache-control"), "no-store");
  await ok.body?.cancel();
  const limit = shop.config.http.bodyLimitBytes;
  const tooLarge = await send("PATCH", `/${product.id}`, { description: "x".repeat(limit) });
  assert.equal(tooLarge.status, 413);
  assert.equal((await tooLarge.json()).error.code, "payload_too_large");
});

Deno.test("[admin products] PATCH changes fields, bumps version and refreshes the cached page", async () => {
  const product = active[1];
  const cold = await shop.app.request(`/p/${product.slug}`);
  assert.equal(cold.headers.get("x-cache"), "MISS");
  await cold.body?.cancel();
  const warm = await shop.app.request(`/p/${product.slug}`);
  assert.equal(warm.headers.get("x-cache"), "L0");
  await warm.body?.cancel();
  const before = await row(product.id);
  const response = await send("PATCH", `/${product.id}`, { name: "Brand New Name" });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.version, before.version + 1);
  assert.ok(body.tags.includes(`product:${product.id}`));
  const page = await shop.app.request(`/p/${product.slug}`);
  assert.equal(page.headers.get("x-cache"), "MISS");
  assert.match(await page.text(), /Brand New Name/);
});

Deno.test("[admin products] PUT price recomputes the product's lowest price", async () => {
  const product = active[2];
  const prices = (await variantsOf(product.id))
    .map((v, i) => ({ variantId: v.id, priceMinor: 5000 + i * 100 }));
  const response = await send("PUT", `/${product.id}/price`, { variants: prices });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal((await row(product.id)).priceMinor, 5000);
});

Deno.test("[admin products] PUT stock recomputes in_stock", async () => {
  const product = active[3];
  const productVariants = await variantsOf(product.id);
  const none = productVariants.map((v) => ({ variantId: v.id, onHand: 0 }));
  const emptied = await send("PUT", `/${product.id}/stock`, { variants: none });
  assert.equal(emptied.status, 200);
  await emptied.body?.cancel();
  assert.equal((await row(product.id)).inStock, false);
  const some = [{ variantId: productVariants[0].id, onHand: 3 }];
  const restocked = await send("PUT", `/${product.id}/stock`, { variants: some });
  assert.equal(restocked.status, 200);
  await restocked.body?.cancel();
  assert.equal((await row(product.id)).inStock, true);
});

Deno.test("[admin products] bad input gives 400 naming the field; unknown ids 404", async (t) => {
  const product = active[4];
  const cases: [string, string, string, unknown, number, string?][] = [
    ["empty patch", "PATCH", `/${product.id}`, {}, 400, "body"],
    ["wrong type", "PATCH", `/${product.id}`, { isActive: "yes" }, 400, "isActive"],
    ["unknown field", "PATCH", `/${product.id}`, { price: 1 }, 400, "body"],
    ["not JSON", "PATCH", `/${product.id}`, "{", 400, "body"],
    ["bad id", "PATCH", "/abc", { name: "x" }, 400, "id"],
    [
      "negative price",
      "PUT",
      `/${product.id}/price`,
      { variants: [{ variantId: 1, priceMinor: -1 }] },
      400,
      "variants.0.priceMinor",
    ],
    [
      "foreign variant",
      "PUT",
      `/${product.id}/price`,
      { variants: [{ variantId: 999_999, priceMinor: 1 }] },
      400,
      "variants",
    ],
    ["unknown product", "PATCH", "/999999", { name: "x" }, 404],
  ];
  const before = await row(product.id);
  for (const [name, method, path, body, status, field] of cases) {
    await t.step(name, async () => {
      const response = await send(method, path, body);
      assert.equal(response.status, status);
      const json = await response.json();
      if (field) assert.equal(json.error.field, field);
    });
  }
  assert.deepEqual(await row(product.id), before, "no bad request changed the product");
});
