import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { products } from "../../../db/schema.ts";
import { openEdgeNode, openOrigin } from "../../edge/cache/cache_fixtures.ts";

const origin = await openOrigin({ productCount: 50 });
const node = await openEdgeNode(origin, { name: "admin" });
const product = origin.catalog.products.find((p) => p.isActive)!;
const variants = origin.catalog.variants.filter((v) => v.productId === product.id);

function send(method: string, path: string, body: unknown) {
  return node.app.request(`/api/admin/products${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function row() {
  const [found] = await origin.database.reader.select().from(products)
    .where(eq(products.id, product.id!));
  return found;
}

Deno.test("[admin products] PATCH changes fields, bumps version and refreshes the cached page", async () => {
  assert.equal((await node.app.request(`/p/${product.slug}`)).headers.get("x-cache"), "MISS");
  const before = await row();
  const response = await send("PATCH", `/${product.id}`, { name: "Brand New Name" });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.version, before.version + 1);
  assert.ok(body.tags.includes(`product:${product.id}`));
  const page = await node.app.request(`/p/${product.slug}`);
  assert.equal(page.headers.get("x-cache"), "MISS");
  assert.match(await page.text(), /Brand New Name/);
});

Deno.test("[admin products] PUT price recomputes the product's lowest price", async () => {
  const prices = variants.map((v, i) => ({ variantId: v.id!, priceMinor: 5000 + i * 100 }));
  assert.equal((await send("PUT", `/${product.id}/price`, { variants: prices })).status, 200);
  assert.equal((await row()).priceMinor, 5000);
});

Deno.test("[admin products] PUT stock recomputes in_stock", async () => {
  const none = variants.map((v) => ({ variantId: v.id!, onHand: 0 }));
  assert.equal((await send("PUT", `/${product.id}/stock`, { variants: none })).status, 200);
  assert.equal((await row()).inStock, false);
  const some = [{ variantId: variants[0].id!, onHand: 3 }];
  assert.equal((await send("PUT", `/${product.id}/stock`, { variants: some })).status, 200);
  assert.equal((await row()).inStock, true);
});

Deno.test("[admin products] bad input gives 400 naming the field; unknown ids 404", async (t) => {
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
      {
        variants: [{ variantId: 1, priceMinor: -1 }],
      },
      400,
      "variants.0.priceMinor",
    ],
    [
      "foreign variant",
      "PUT",
      `/${product.id}/price`,
      {
        variants: [{ variantId: 999_999, priceMinor: 1 }],
      },
      400,
      "variants",
    ],
    ["unknown product", "PATCH", "/999999", { name: "x" }, 404],
  ];
  for (const [name, method, path, body, status, field] of cases) {
    await t.step(name, async () => {
      const response = await send(method, path, body);
      assert.equal(response.status, status);
      const json = await response.json();
      if (field) assert.equal(json.error.field, field);
    });
  }
});

Deno.test("[admin products] closes fixtures", async () => {
  await node.close();
  await origin.close();
});
