import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { cartItems, products, variants } from "../../../db/schema.ts";
import { openTestServices } from "../../fixtures.ts";
import { countRows, ORIGIN, setStock, Shopper, stockedVariants } from "../checkout/shopper.ts";

const shop = await openTestServices({
  productCount: 40,
  env: {
    CART_MAX_LINES: "3",
    CART_MAX_QUANTITY: "99",
    OUTBOX_WORKER: "false",
    RATE_LIMIT_LOGIN_IP: "1000/60",
    RATE_LIMIT_LOGIN_ACCOUNT: "1000/60",
    RATE_LIMIT_REGISTER_IP: "1000/60",
  },
});
const db = shop.services.database.writer;
const stocked = await stockedVariants(db, { minStock: 8, count: 6 });
const [first, second, third, fourth] = stocked;

async function cartLineCount(): Promise<number> {
  return await countRows(db, "cart_items");
}

Deno.test("[cart] a new shopper gets an empty cart and no cookie until the first change", async () => {
  const shopper = new Shopper(shop.app);
  const answer = await shopper.json("GET", "/api/cart");
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body.lines, []);
  assert.equal(answer.body.itemCount, 0);
  assert.equal(answer.headers.get("cache-control"), "private, no-store");
  assert.equal(shopper.cookies.size, 0);
});

Deno.test("[cart] adding, changing and removing lines keeps totals in minor units", async (t) => {
  const shopper = new Shopper(shop.app);
  await t.step("add sets a signed HttpOnly cart cookie and a readable count", async () => {
    const added = await shopper.add(first.id, 2);
    assert.equal(added.status, 201);
    const cookies = added.headers.getSetCookie().join("\n");
    assert.match(
      cookies,
      /cart=a%3A[0-9a-f-]{36}\.[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax/,
    );
    assert.match(cookies, /cart_count=2; Max-Age=\d+; Path=\/; SameSite=Lax/);
    assert.doesNotMatch(cookies.split("\n").find((c) => c.startsWith("cart_count"))!, /HttpOnly/);
    assert.equal(added.body.itemCount, 2);
    assert.equal(added.body.subtotalMinor, first.priceMinor * 2);
  });
  await t.step("adding the same variant again adds to its line", async () => {
    const added = await shopper.add(first.id, 3);
    assert.equal((added.body.lines as unknown[]).length, 1);
    assert.equal(added.body.itemCount, 5);
    assert.equal(shopper.cookies.get("cart_count"), "5");
  });
  await t.step("PATCH sets a quantity, DELETE removes a line", async () => {
    await shopper.add(second.id, 1);
    const patched = await shopper.json("PATCH", `/api/cart/items/${first.id}`, {
      json: { quantity: 1 },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.itemCount, 2);
    assert.equal(patched.body.subtotalMinor, first.priceMinor + second.priceMinor);
    const removed = await shopper.json("DELETE", `/api/cart/items/${first.id}`);
    assert.equal(removed.status, 200);
    assert.equal(removed.body.itemCount, 1);
    assert.equal(shopper.cookies.get("cart_count"), "1");
  });
  await t.step("the cart reads back the same from the API", async () => {
    const cart = await shopper.json("GET", "/api/cart");
    assert.deepEqual(
      (cart.body.lines as { variantId: number; quantity: number }[]).map((l) => [
        l.variantId,
        l.quantity,
      ]),
      [[second.id, 1]],
    );
  });
  await t.step("DELETE /api/cart empties it", async () => {
    const cleared = await shopper.json("DELETE", "/api/cart");
    assert.equal(cleared.body.itemCount, 0);
    assert.equal(shopper.cookies.get("cart_count"), "0");
  });
});

Deno.test("[cart] a forged or tampered cart cookie is ignored, never trusted", async () => {
  const owner = new Shopper(shop.app);
  await owner.add(first.id, 1);
  const [id] = decodeURIComponent(owner.cookies.get("cart")!).split(".");
  const forger = new Shopper(shop.app);
  forger.cookies.set(
    "cart",
    encodeURIComponent(`${id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`),
  );
  const seen = await forger.json("GET", "/api/cart");
  assert.deepEqual(seen.body.lines, []);
});

Deno.test("[cart] stock shortfall is a warning, not a refusal", async () => {
  await setStock(db, third.id, 2);
  const shopper = new Shopper(shop.app);
  const added = await shopper.add(third.id, 5);
  assert.equal(added.status, 201);
  const warnings = added.body.warnings as { variantId: number; code: string; available: number }[];
  assert.deepEqual(warnings.map((w) => [w.variantId, w.code, w.available]), [
    [third.id, "low_stock", 2],
  ]);
  await setStock(db, third.id, 0);
  const later = await shopper.json("GET", "/api/cart");
  assert.equal((later.body.warnings as { code: string }[])[0].code, "out_of_stock");
  await setStock(db, third.id, 50);
});

Deno.test("[cart] invalid input answers 4xx naming the field and changes nothing", async (t) => {
  const shopper = new Shopper(shop.app);
  await shopper.add(first.id, 1);
  const [inactive] = await db.select({ id: variants.id }).from(variants)
    .innerJoin(products, eq(products.id, variants.productId))
    .where(eq(products.isActive, false)).limit(1);
  const cases: [string, string, string, unknown, number, string][] = [
    [
      "negative quantity",
      "POST",
      "/api/cart/items",
      { variantId: first.id, quantity: -1 },
      400,
      "quantity",
    ],
    [
      "zero quantity",
      "POST",
      "/api/cart/items",
      { variantId: first.id, quantity: 0 },
      400,
      "quantity",
    ],
    [
      "huge quantity",
      "POST",
      "/api/cart/items",
      { variantId: first.id, quantity: 1e9 },
      400,
      "quantity",
    ],
    [
      "fractional quantity",
      "POST",
      "/api/cart/items",
      { variantId: first.id, quantity: 1.5 },
      400,
      "quantity",
    ],
    [
      "quantity as text",
      "POST",
      "/api/cart/items",
      { variantId: first.id, quantity: "2" },
      400,
      "quantity",
    ],
    ["unknown variant", "POST", "/api/cart/items", { variantId: 99_999_999 }, 400, "variantId"],
    ["negative variant", "POST", "/api/cart/items", { variantId: -4 }, 400, "variantId"],
    ["missing variant", "POST", "/api/cart/items", { quantity: 1 }, 400, "variantId"],
    ["unknown field", "POST", "/api/cart/items", { variantId: first.id, price: 1 }, 400, "body"],
    ["not JSON", "POST", "/api/cart/items", "{", 400, "body"],
    [
      "line above the quantity limit",
      "POST",
      "/api/cart/items",
      { variantId: first.id, quantity: 99 },
      422,
      "quantity",
    ],
    [
      "PATCH above the limit",
      "PATCH",
      `/api/cart/items/${first.id}`,
      { quantity: 100 },
      400,
      "quantity",
    ],
    ["PATCH a bad id", "PATCH", "/api/cart/items/abc", { quantity: 1 }, 400, "variantId"],
    [
      "PATCH a line not in the cart",
      "PATCH",
      `/api/cart/items/${second.id}`,
      { quantity: 1 },
      404,
      "",
    ],
    ["DELETE a line not in the cart", "DELETE", `/api/cart/items/${second.id}`, undefined, 404, ""],
  ];
  if (inactive) {
    cases.push([
      "variant no longer sold",
      "POST",
      "/api/cart/items",
      { variantId: inactive.id },
      409,
      "variantId",
    ]);
  }
  for (const [name, method, path, body, status, field] of cases) {
    await t.step(name, async () => {
      const before = await db.select().from(cartItems).orderBy(cartItems.variantId);
      const answer = await shopper.json(method, path, body === undefined ? {} : { json: body });
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      if (field) assert.equal(answer.body.error?.field, field);
      assert.ok(answer.body.error?.message);
      assert.deepEqual(await db.select().from(cartItems).orderBy(cartItems.variantId), before);
    });
  }
});

Deno.test("[cart] refuses a line beyond the line limit (an oversized cart)", async () => {
  const shopper = new Shopper(shop.app);
  for (const variant of [first, second, third]) {
    assert.equal((await shopper.add(variant.id)).status, 201);
  }
  const before = await cartLineCount();
  const refused = await shopper.add(fourth.id);
  assert.equal(refused.status, 422);
  assert.equal(refused.body.error?.code, "cart_limit");
  assert.equal(refused.body.error?.field, "variantId");
  assert.equal(await cartLineCount(), before);
  // More of a line already in the cart is still fine.
  assert.equal((await shopper.add(first.id)).status, 201);
});

Deno.test("[cart] concurrent adds cannot pass the bounds", async () => {
  const shopper = new Shopper(shop.app);
  await shopper.add(first.id, 1);
  const answers = await Promise.all(
    Array.from({ length: 30 }, () => shopper.add(first.id, 10)),
  );
  const accepted = answers.filter((a) => a.status === 201).length;
  const [row] = await db.all<{ quantity: number }>(sql`SELECT quantity FROM cart_items
    WHERE cart_id = ${decodeURIComponent(shopper.cookies.get("cart")!).split(".")[0]}
      AND variant_id = ${first.id}`);
  assert.equal(row.quantity, 1 + accepted * 10);
  assert.ok(row.quantity <= 99);
  assert.equal(accepted, 9);
});

Deno.test("[cart] signing in merges the anonymous cart into the account's, capped", async (t) => {
  const email = "merge@example.com";
  const password = "merge-password";
  const browser = new Shopper(shop.app);
  assert.equal(
    (await browser.send("POST", "/api/auth/register", { json: { email, password } })).status,
    202,
  );
  const phone = new Shopper(shop.app);
  const login = await phone.json("POST", "/api/auth/login", { json: { email, password } });
  phone.token = login.body.accessToken as string;
  await phone.add(first.id, 90);
  await phone.add(second.id, 1);

  await t.step("the browser's anonymous lines join the account cart on sign-in", async () => {
    await browser.add(first.id, 20);
    await browser.add(third.id, 2);
    const signedIn = await browser.send("POST", "/account/login", { form: { email, password } });
    assert.equal(signedIn.status, 303);
    assert.match(decodeURIComponent(browser.cookies.get("cart")!), /^u:/);
    assert.equal(browser.cookies.get("cart_count"), String(99 + 1 + 2));
    const cart = await phone.json("GET", "/api/cart");
    const lines = cart.body.lines as { variantId: number; quantity: number }[];
    assert.deepEqual(
      lines.map((l) => [l.variantId, l.quantity]).sort(),
      [
        [first.id, 99],
        [second.id, 1],
        [third.id, 2],
      ].sort(),
    );
  });
  await t.step("the browser now sees the account's cart without a token", async () => {
    const cart = await browser.json("GET", "/api/cart");
    assert.equal(cart.body.itemCount, 102);
  });
  await t.step("signing out forgets the account's cart in this browser", async () => {
    const out = await browser.send("POST", "/api/auth/logout");
    assert.equal(out.status, 204);
    assert.equal(browser.cookies.has("cart"), false);
    assert.equal(browser.cookies.has("cart_count"), false);
    assert.equal((await browser.json("GET", "/api/cart")).body.itemCount, 0);
  });
});

Deno.test("[cart page] the forms work without JavaScript and answer 303 back to the cart", async (t) => {
  const browser = new Shopper(shop.app);
  await t.step("the product page posts Add to cart to the cart form endpoint", async () => {
    const [product] = await db.select({ slug: products.slug }).from(products)
      .where(eq(products.id, first.productId));
    const html = await (await browser.send("GET", `/p/${product.slug}`)).text();
    assert.match(html, /<form class="add-to-cart" method="post" action="\/cart\/items"/);
    assert.match(html, /<input type="hidden" name="variant_id" value="\d+"\/>/);
    assert.match(html, /<input type="number" name="quantity" value="1"/);
    assert.match(html, /<button type="submit"[^>]*>Add to cart<\/button>/);
  });
  await t.step("adding redirects to the cart, which lists the line", async () => {
    const added = await browser.send("POST", "/cart/items", {
      form: { variant_id: String(first.id), quantity: "2" },
    });
    assert.equal(added.status, 303);
    assert.equal(added.headers.get("location"), "/cart?added=1");
    const page = await browser.send("GET", "/cart?added=1");
    assert.equal(page.headers.get("cache-control"), "private, no-store");
    const html = await page.text();
    assert.match(html, /Added to your cart/);
    assert.match(html, new RegExp(`action="/cart/items/${first.id}"`));
    assert.match(html, /name="quantity"[^>]*value="2"/);
  });
  await t.step("updating and removing redirect back to the cart", async () => {
    const updated = await browser.send("POST", `/cart/items/${first.id}`, {
      form: { quantity: "4" },
    });
    assert.equal(updated.status, 303);
    assert.equal(updated.headers.get("location"), "/cart");
    assert.equal(browser.cookies.get("cart_count"), "4");
    const removed = await browser.send("POST", `/cart/items/${first.id}/remove`);
    assert.equal(removed.status, 303);
    assert.match(await (await browser.send("GET", "/cart")).text(), /Your cart is empty/);
  });
  await t.step("a bad quantity shows the cart page with the message and a 400", async () => {
    await browser.send("POST", "/cart/items", { form: { variant_id: String(first.id) } });
    const before = await db.select().from(cartItems).orderBy(cartItems.variantId);
    const refused = await browser.send("POST", `/cart/items/${first.id}`, {
      form: { quantity: "-3" },
    });
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /quantity must be from 1 to 99/);
    assert.deepEqual(await db.select().from(cartItems).orderBy(cartItems.variantId), before);
  });
  await t.step("a cross-site form post is refused", async () => {
    const response = await shop.app.request(`${ORIGIN}/cart/items`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: "https://evil.example",
      },
      body: `variant_id=${first.id}&quantity=1`,
    });
    assert.equal(response.status, 403);
    await response.body?.cancel();
  });
});

Deno.test("[cart] closes fixtures", async () => {
  await shop.close();
});
