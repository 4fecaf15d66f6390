import assert from "node:assert/strict";
import { closeAfterAll, openTestServices } from "../../fixtures.ts";

const shop = closeAfterAll(await openTestServices({ productCount: 200 }));

async function page(path: string) {
  const response = await shop.app.request(path);
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    html: await response.text(),
  };
}

Deno.test("[catalog pages] home, category, product and search pages render from the catalog", async (t) => {
  const { body: listing } = {
    body: await (await shop.app.request("/api/products?limit=1")).json(),
  };
  const product = listing.items[0];
  await t.step("home shows featured products and categories", async () => {
    const home = await page("/");
    assert.equal(home.status, 200);
    assert.match(home.type ?? "", /text\/html/);
    assert.match(home.html, /^<!doctype html>/);
    assert.match(home.html, /href="\/c\/kitchen-knives"/);
  });
  await t.step("category page lists its products with filters and a next link", async () => {
    const category = await page("/c/outdoor-tents?limit=2");
    assert.equal(category.status, 200);
    assert.match(category.html, /<h1>Tents<\/h1>/);
    assert.equal(category.html.match(/class="card"/g)?.length, 2);
    assert.match(category.html, /rel="next" href="\/c\/outdoor-tents\?cursor=/);
  });
  await t.step("product page shows price, variants and the hydratable island", async () => {
    const detail = await page(`/p/${product.slug}`);
    assert.equal(detail.status, 200);
    assert.ok(detail.html.includes(product.name));
    assert.match(detail.html, /data-island="VariantPicker"/);
    assert.match(detail.html, /\$\d/);
    assert.match(detail.html, /src="\/static\/build\/VariantPicker\.js"/);
  });
  await t.step("search finds products by name", async () => {
    const word = product.name.split(" ")[0];
    const results = await page(`/search?q=${encodeURIComponent(word)}`);
    assert.equal(results.status, 200);
    assert.ok(results.html.includes(product.name) || /class="card"/.test(results.html));
  });
});

Deno.test("[catalog pages] unknown pages and slugs give a friendly 404 page", async (t) => {
  for (const path of ["/p/no-such-product", "/c/no-such-category", "/definitely/not/here"]) {
    await t.step(path, async () => {
      const response = await page(path);
      assert.equal(response.status, 404);
      assert.match(response.type ?? "", /text\/html/);
      assert.match(response.html, /Not found/);
      assert.match(response.html, /Back to the shop/);
    });
  }
});

Deno.test("[catalog pages] bad filters give a 400 page naming the field", async () => {
  const response = await page("/c/outdoor-tents?sort=random");
  assert.equal(response.status, 400);
  assert.match(response.html, /sort must be one of/);
});

Deno.test("[catalog pages] responses carry security headers and compress text", async () => {
  const response = await shop.app.request("/", { headers: { "Accept-Encoding": "gzip" } });
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.equal(response.headers.get("content-encoding"), "gzip");
  await response.body?.cancel();
});

Deno.test("[catalog pages] oversized request bodies are refused with 413", async () => {
  const response = await shop.app.request("/api/products", {
    method: "POST",
    body: "x".repeat(shop.config.http.bodyLimitBytes + 1),
    headers: { "Content-Type": "text/plain" },
  });
  assert.equal(response.status, 413);
  assert.equal((await response.json()).error.code, "payload_too_large");
});
