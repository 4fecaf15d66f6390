import assert from "node:assert/strict";
import type { ProductDetail } from "../../../db/catalog.ts";
import { ADD_TO_CART_FORM } from "../../../islands/add_to_cart.ts";
import { cacheKeys } from "../../../routes/catalog/cache_keys.ts";
import { assets } from "../../../routes/ui/assets.ts";
import { closeAfterAll, openTestServices } from "../../fixtures.ts";

const ORIGIN = "http://localhost";
const shop = closeAfterAll(
  await openTestServices({
    productCount: 400,
    env: { RATE_LIMIT_LOGIN_IP: "1000/60", RATE_LIMIT_REGISTER_IP: "1000/60" },
  }),
);

async function page(path: string, headers: Record<string, string> = {}) {
  const response = await shop.app.request(`${ORIGIN}${path}`, { headers });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    cache: response.headers.get("x-cache"),
    cacheControl: response.headers.get("cache-control"),
    html: await response.text(),
  };
}

function cardCount(html: string): number {
  return html.match(/class="card"/g)?.length ?? 0;
}

/** The decoded href of the first link with `rel`. */
function relHref(html: string, rel: string): string | undefined {
  const href = new RegExp(`rel="${rel}" href="([^"]+)"`).exec(html)?.[1];
  return href?.replaceAll("&amp;", "&");
}

async function productJson(slug: string): Promise<ProductDetail> {
  return await (await shop.app.request(`/api/products/${slug}`)).json();
}

/** A seeded product with a Color and a Size option and a variant in stock besides the default. */
async function productWithOptions(): Promise<ProductDetail> {
  const listing = await (await shop.app.request("/api/products?limit=100&in_stock=true")).json();
  for (const item of listing.items) {
    const product = await productJson(item.slug);
    const sized = product.variants.every((v) => v.options.Size !== undefined);
    if (sized && product.variants.filter((v) => v.available > 0).length >= 2) return product;
  }
  throw new Error("the seed has no product with two options and two variants in stock");
}

Deno.test("[catalog pages] home, category, product and search pages render from the catalog", async (t) => {
  const listing = await (await shop.app.request("/api/products?limit=1")).json();
  const product = listing.items[0];
  await t.step("home shows featured products and departments with their categories", async () => {
    const home = await page("/");
    assert.equal(home.status, 200);
    assert.match(home.type ?? "", /text\/html/);
    assert.match(home.html, /^<!doctype html>/);
    assert.match(home.html, /href="\/c\/kitchen-knives"/);
    assert.match(home.html, /href="\/c\/footwear"/);
  });
  await t.step("category page lists its products with a count and a next link", async () => {
    const category = await page("/c/outdoor-tents?limit=2");
    assert.equal(category.status, 200);
    assert.match(category.html, /<h1>Tents<\/h1>/);
    assert.equal(cardCount(category.html), 2);
    assert.match(category.html, /rel="next" href="\/c\/outdoor-tents\?limit=2&amp;cursor=/);
    assert.match(category.html, /\d+ products · showing 1–2/);
    assert.match(category.html, /Page 1 of \d+/);
  });
  await t.step("product page shows price, options and the hydratable island", async () => {
    const detail = await page(`/p/${product.slug}`);
    assert.equal(detail.status, 200);
    assert.ok(detail.html.includes(product.name));
    assert.match(detail.html, /data-island="VariantPicker"/);
    assert.match(detail.html, /\$\d/);
    assert.ok(detail.html.includes(`<script type="module" src="${assets.islands}">`));
  });
  await t.step("search finds products by name", async () => {
    const word = product.name.split(" ")[0];
    const results = await page(`/search?q=${encodeURIComponent(word)}`);
    assert.equal(results.status, 200);
    assert.ok(cardCount(results.html) > 0);
  });
});

Deno.test("[catalog pages] the layout has a skip link, a category menu, search and account slots", async () => {
  const { html } = await page("/c/outdoor-tents");
  assert.match(html, /<a class="skip-link" href="#main">/);
  assert.match(html, /<main id="main"/);
  assert.match(html, /<nav class="mega-menu" aria-label="Departments">/);
  assert.match(html, /<details class="menu-drawer">/);
  assert.match(html, /href="\/c\/outdoor-backpacks"/);
  assert.match(html, /data-island="AccountMenu"/);
  assert.match(html, /data-island="CartLink"[^>]*>.*href="\/cart"/);
  assert.match(html, /<footer class="site-footer">/);
  assert.equal(html.match(/<script /g)?.length, 1, "one island bundle, no other script");
});

Deno.test("[catalog pages] an empty Min or Max price counts as unset", async (t) => {
  for (
    const query of [
      "min_price=&max_price=&sort=price_asc",
      "min_price=&max_price=&in_stock=true",
      "min_price=+&max_price=300",
    ]
  ) {
    await t.step(query, async () => {
      const listing = await page(`/c/outdoor-tents?${query}`);
      assert.equal(listing.status, 200);
      assert.ok(cardCount(listing.html) > 0);
      assert.doesNotMatch(listing.html, /aria-invalid/);
    });
  }
  const api = await shop.app.request("/api/products?min_price=&max_price=&category=outdoor-tents");
  assert.equal(api.status, 200, "the API reads empty amounts the same way");
  await api.body?.cancel();
});

Deno.test("[catalog pages] filters keep their state in the form", async () => {
  const { html } = await page(
    "/c/outdoor-tents?min_price=50&max_price=300.5&in_stock=true&sort=price_desc",
  );
  assert.match(html, /id="min_price" name="min_price"[^>]*value="50"/);
  assert.match(html, /id="max_price" name="max_price"[^>]*value="300.50"/);
  assert.match(html, /name="in_stock" value="true" checked/);
  assert.match(html, /<option value="price_desc" selected>/);
  const prices = [...html.matchAll(/From \$([\d,.]+)/g)].map((m) => Number(m[1].replace(",", "")));
  assert.ok(prices.length > 0);
  assert.ok(prices.every((price) => price >= 50 && price <= 300.5));
  assert.deepEqual(prices, [...prices].sort((a, b) => b - a), "sorted high to low");
});

Deno.test("[catalog pages] an invalid filter is named inline on the listing, not a bare error page", async (t) => {
  await t.step("a malformed price", async () => {
    const listing = await page("/c/outdoor-tents?min_price=cheap&sort=price_asc");
    assert.equal(listing.status, 400);
    assert.match(listing.html, /<h1>Tents<\/h1>/);
    assert.ok(cardCount(listing.html) > 0, "the products are still listed");
    assert.match(listing.html, /name="min_price"[^>]*aria-invalid="true"/);
    assert.match(listing.html, /Min price must be an amount like 12.50/);
    assert.match(listing.html, /<option value="price_asc" selected>/, "the valid filters stay");
  });
  await t.step("an unknown sort", async () => {
    const listing = await page("/c/outdoor-tents?sort=random");
    assert.equal(listing.status, 400);
    assert.match(listing.html, /Sort must be one of/);
    assert.ok(cardCount(listing.html) > 0);
  });
  await t.step("a page link the catalog refuses falls back to the first page", async () => {
    const listing = await page("/c/outdoor-tents?limit=2&cursor=bm90LWEtY3Vyc29y");
    assert.equal(listing.status, 400);
    assert.match(listing.html, /role="alert"/);
    assert.match(listing.html, /Page 1 of/);
  });
});

Deno.test("[catalog pages] previous and next links walk the pages and say where you are", async () => {
  const first = await page("/c/outdoor-tents?limit=3&sort=price_asc");
  const pages = Number(/Page 1 of (\d+)/.exec(first.html)?.[1]);
  assert.ok(pages >= 2, `${pages} pages`);
  assert.equal(relHref(first.html, "prev"), undefined, "no previous page on the first");
  const second = await page(relHref(first.html, "next")!);
  assert.match(second.html, new RegExp(`Page 2 of ${pages}`));
  assert.match(second.html, /showing 4–6/);
  const back = await page(relHref(second.html, "prev")!);
  assert.match(back.html, new RegExp(`Page 1 of ${pages}`));
  const names = (html: string) => [...html.matchAll(/class="card-name">([^<]+)/g)].map((m) => m[1]);
  assert.deepEqual(names(back.html), names(first.html));
});

Deno.test("[catalog pages] a department lists the products of all its categories", async () => {
  const { status, html } = await page("/c/footwear?limit=100");
  assert.equal(status, 200);
  assert.match(html, /<h1>Footwear<\/h1>/);
  assert.match(html, /class="chip" href="\/c\/footwear-boots"/);
  for (const noun of ["Boot", "Sandal", "Sneaker"]) {
    assert.match(html, new RegExp(`${noun}</span>`));
  }
});

Deno.test("[catalog pages] search finds plurals, categories and brands, with a count and the query kept", async (t) => {
  for (const [query, noun] of [["tents", "Tent"], ["boots", "Boot"], ["knives", "Knife"]]) {
    await t.step(query, async () => {
      const results = await page(`/search?q=${query}`);
      assert.equal(results.status, 200);
      assert.ok(cardCount(results.html) > 0, `"${query}" finds products`);
      const names = [...results.html.matchAll(/class="card-name">([^<]+)/g)].map((m) => m[1]);
      assert.ok(names.every((name) => name.includes(noun)), names.join(", "));
      assert.match(results.html, /data-testid="result-count">\d+ products?/);
      assert.match(results.html, new RegExp(`id="site-search"[^>]*value="${query}"`));
      assert.match(results.html, /<option value="relevance" selected>/);
    });
  }
  await t.step("a department name finds its products", async () => {
    const results = await page("/search?q=footwear&limit=100");
    assert.ok(cardCount(results.html) > 10);
  });
  await t.step("no results gives a helpful empty state", async () => {
    const results = await page("/search?q=zzyzx");
    assert.equal(results.status, 200);
    assert.match(results.html, /No results for “zzyzx”/);
    assert.match(results.html, /Or browse a department/);
  });
});

Deno.test("[catalog pages] the product page takes its option choice from the URL", async (t) => {
  const product = await productWithOptions();
  const [defaultVariant] = product.variants.filter((v) => v.available > 0);
  const other = product.variants.find((v) => v.available > 0 && v.id !== defaultVariant.id)!;
  const choice =
    `color=${other.options.Color.toLowerCase()}&size=${other.options.Size.toLowerCase()}`;
  const price = (minor: number) => `$${(minor / 100).toFixed(2)}`;
  await t.step("the chosen variant's price, option and form field are rendered", async () => {
    const chosen = await page(`/p/${product.slug}?${choice}`);
    assert.equal(chosen.status, 200);
    assert.match(chosen.html, new RegExp(`data-testid="price">\\${price(other.priceMinor)}`));
    assert.match(chosen.html, new RegExp(`name="variant_id" value="${other.id}"`));
    assert.match(
      chosen.html,
      new RegExp(`aria-current="true"[^>]*>(<span[^>]*></span>)?${other.options.Color}`),
    );
    const plain = await page(`/p/${product.slug}`);
    assert.match(plain.html, new RegExp(`name="variant_id" value="${defaultVariant.id}"`));
  });
  await t.step("each option value links to the page with that choice", async () => {
    const { html } = await page(`/p/${product.slug}`);
    assert.ok(html.includes(`href="/p/${product.slug}?${choice.replace("&", "&amp;")}"`));
  });
  await t.step("the cache key is bounded to the product's variants", async () => {
    for (const junk of ["color=plaid", "size=xxxl&color=nope", "utm_source=x"]) {
      const response = await page(`/p/${product.slug}?${junk}`);
      assert.equal(response.status, 200);
      assert.match(response.html, new RegExp(`name="variant_id" value="${defaultVariant.id}"`));
    }
    assert.ok(shop.services.cache.peek(cacheKeys.productPage(product.slug, other.id)));
    assert.equal(
      shop.services.cache.peek(`${cacheKeys.productPage(product.slug)}?color=plaid`),
      undefined,
    );
    const again = await page(`/p/${product.slug}?color=plaid`);
    assert.equal(again.cache, "L0", "an unknown value is the default page, already cached");
  });
  await t.step("an unknown product is a friendly 404 with or without a choice", async () => {
    assert.equal((await page("/p/no-such-product?color=red")).status, 404);
  });
});

Deno.test("[catalog pages] the product page carries structured data, Open Graph and the cart form contract", async () => {
  const product = await productWithOptions();
  const { html } = await page(`/p/${product.slug}`);
  const json = /<script type="application\/ld\+json">(.*?)<\/script>/s.exec(html)?.[1];
  assert.ok(json, "JSON-LD is present");
  const data = JSON.parse(json);
  assert.equal(data["@type"], "Product");
  assert.equal(data.name, product.name);
  assert.equal(data.brand.name, product.brand);
  assert.equal(data.offers["@type"], "Offer");
  assert.match(data.offers.price, /^\d+\.\d{2}$/);
  assert.equal(data.offers.availability, "https://schema.org/InStock");
  assert.ok(data.image.length >= 3, "several images");
  assert.match(html, /<meta property="og:type" content="product"\/>/);
  assert.match(html, /<meta property="og:image" content="\/img\/v1\//);
  assert.match(html, new RegExp(`<link rel="canonical" href="/p/${product.slug}"/>`));
  const form = /<form class="add-to-cart" method="(\w+)" action="([^"]+)"/.exec(html);
  assert.deepEqual(form?.slice(1), [ADD_TO_CART_FORM.method, ADD_TO_CART_FORM.action]);
  assert.deepEqual([ADD_TO_CART_FORM.action, ADD_TO_CART_FORM.fields], [
    "/cart/items",
    { variantId: "variant_id", quantity: "quantity" },
  ]);
  assert.match(html, /<input type="number" name="quantity" value="1" min="1"/);
  const images = html.match(/<li id="media-\d+"><img [^>]*>/g) ?? [];
  assert.ok(images.length >= 3);
  assert.match(images[0] ?? "", /loading="eager"/);
  assert.ok(images.slice(1).every((img) => /loading="lazy"/.test(img)));
  assert.ok(images.every((img) => /width="600" height="600"/.test(img)));
});

Deno.test("[catalog pages] a signed-in shopper with a cart still gets the shared cached page", async () => {
  const credentials = { email: "cached@example.com", password: "a long password" };
  const form = (path: string) =>
    shop.app.request(`${ORIGIN}${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams(credentials).toString(),
    });
  assert.equal((await form("/account/register")).status, 303);
  const login = await form("/account/login");
  assert.equal(login.status, 303);
  const setCookies = login.headers.getSetCookie();
  const accountCookie = setCookies.find((cookie) => cookie.startsWith("account_name="));
  assert.ok(accountCookie, "sign-in sets the readable account cookie");
  assert.match(accountCookie, /account_name=cached;/);
  assert.match(accountCookie, /Path=\//);
  assert.doesNotMatch(accountCookie, /HttpOnly/i);
  const cookie = [
    ...setCookies.map((c) => c.split(";")[0]),
    "cart_count=3",
  ].join("; ");
  const listing = await (await shop.app.request("/api/products?limit=1")).json();
  const path = `/p/${listing.items[0].slug}`;
  await page(path);
  const signedIn = await page(path, { cookie });
  assert.equal(signedIn.status, 200);
  assert.equal(signedIn.cache, "L0");
  assert.match(signedIn.cacheControl ?? "", /^public, /);
  assert.doesNotMatch(signedIn.html, /cached@example/, "nothing personal in the page");

  const logout = await shop.app.request(`${ORIGIN}/api/auth/logout`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, cookie },
  });
  assert.equal(logout.status, 303);
  assert.ok(
    logout.headers.getSetCookie().some((c) => /^account_name=;.*Max-Age=0/.test(c)),
    "sign-out clears the account cookie",
  );
});

Deno.test("[catalog pages] unknown pages and slugs give a friendly 404 page", async (t) => {
  for (const path of ["/p/no-such-product", "/c/no-such-category", "/definitely/not/here"]) {
    await t.step(path, async () => {
      const response = await page(path);
      assert.equal(response.status, 404);
      assert.match(response.type ?? "", /text\/html/);
      assert.match(response.html, /Not found/);
      assert.match(response.html, /Back to the shop/);
      assert.match(response.html, /class="skip-link"/);
      assert.match(response.html, /<nav class="mega-menu"/, "the menu leads somewhere else");
    });
  }
});

Deno.test("[catalog pages] the account forms show the same header menu", async () => {
  for (const path of ["/account/login", "/account/register"]) {
    const { status, html } = await page(path);
    assert.equal(status, 200);
    assert.match(html, /<nav class="mega-menu"/, path);
    assert.match(html, /id="password-hint"/, "the password rules are shown up front");
  }
});

Deno.test("[catalog pages] built files are content-hashed, immutable and precompressed", async (t) => {
  assert.match(assets.islands, /^\/static\/build\/islands\.[0-9a-f]{12}\.js$/);
  assert.match(assets.stylesheet, /^\/static\/build\/app\.[0-9a-f]{12}\.css$/);
  for (const [encoding, expected] of [["br", "br"], ["gzip", "gzip"], ["gzip, br", "br"]]) {
    await t.step(`Accept-Encoding: ${encoding}`, async () => {
      const response = await shop.app.request(assets.islands, {
        headers: { "accept-encoding": encoding },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-encoding"), expected);
      assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.match(response.headers.get("content-type") ?? "", /javascript/);
      assert.match(response.headers.get("vary") ?? "", /Accept-Encoding/);
      await response.body?.cancel();
    });
  }
  const plain = await shop.app.request(assets.stylesheet);
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.match(await plain.text(), /--page-width/);
});

Deno.test("[catalog pages] product artwork is drawn per product and cached for a year", async () => {
  const draw = async (path: string) => {
    const response = await shop.app.request(path);
    return { response, body: await response.text() };
  };
  const a = await draw("/img/v1/tent/12-0.svg");
  assert.equal(a.response.status, 200);
  assert.equal(a.response.headers.get("content-type"), "image/svg+xml");
  assert.equal(a.response.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.match(a.body, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((await draw("/img/v1/tent/12-0.svg")).body, a.body, "deterministic");
  const others = await Promise.all(
    ["/img/v1/tent/13-0.svg", "/img/v1/tent/12-1.svg", "/img/v1/boot/12-0.svg"].map(draw),
  );
  for (const other of others) assert.notEqual(other.body, a.body);
  for (const bad of ["/img/v1/tent/0-0.svg", "/img/v1/Tent/1-0.svg", "/img/v1/tent/1-x.svg"]) {
    assert.equal((await draw(bad)).response.status, 404, bad);
  }
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
