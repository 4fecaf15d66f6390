import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { createUser } from "../../../db/users.ts";
import { orderItems, orders, outbox, products, variants } from "../../../db/schema.ts";
import { createQueryCounter, openTestServices } from "../../fixtures.ts";
import {
  countRows,
  guestCheckout,
  setStock,
  Shopper,
  stockedVariants,
  stockOf,
} from "./shopper.ts";

const counter = createQueryCounter();
const shop = await openTestServices({
  productCount: 60,
  onQuery: counter.onQuery,
  env: { OUTBOX_WORKER: "false", CART_MAX_LINES: "10" },
});
const db = shop.services.database.writer;
const variantsInStock = await stockedVariants(db, { minStock: 20, count: 8 });

/** Everything a refused checkout must leave untouched. */
async function snapshot() {
  return {
    orders: await countRows(db, "orders"),
    items: await countRows(db, "order_items"),
    outbox: await countRows(db, "outbox"),
    keys: await countRows(db, "idempotency_keys"),
    stock: await db.all(sql`SELECT variant_id, on_hand, reserved FROM inventory ORDER BY 1`),
    carts: await db.all(sql`SELECT * FROM cart_items ORDER BY cart_id, variant_id`),
  };
}

async function shopperWith(lines: [number, number][]): Promise<Shopper> {
  const shopper = new Shopper(shop.app);
  for (const [variantId, quantity] of lines) {
    assert.equal((await shopper.add(variantId, quantity)).status, 201);
  }
  return shopper;
}

Deno.test("[checkout] a guest order is priced on the server, reserves stock and empties the cart", async () => {
  const [a, b] = variantsInStock;
  const before = [await stockOf(db, a.id), await stockOf(db, b.id)];
  const shopper = await shopperWith([[a.id, 2], [b.id, 1]]);
  const answer = await shopper.checkout(
    "guest-order-1",
    guestCheckout({ shippingOption: "express" }),
  );
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  const order = answer.body.order as Record<string, unknown> & { items: unknown[]; id: string };
  assert.equal(order.status, "pending");
  assert.equal(order.subtotalMinor, a.priceMinor * 2 + b.priceMinor);
  assert.equal(order.shippingMinor, 1499);
  assert.equal(order.totalMinor, a.priceMinor * 2 + b.priceMinor + 1499);
  assert.equal(order.itemCount, 3);
  assert.equal(order.paymentMethod, "pay_on_delivery");
  assert.equal(order.items.length, 2);
  assert.equal(answer.headers.get("location"), `/api/orders/${order.id}`);
  assert.equal(answer.headers.get("cache-control"), "private, no-store");
  assert.match((answer.body.links as { page: string }).page, /^\/orders\/[0-9a-f-]{36}\?token=/);
  assert.equal(shopper.cookies.get("cart_count"), "0");
  assert.equal((await shopper.json("GET", "/api/cart")).body.itemCount, 0);
  const after = [await stockOf(db, a.id), await stockOf(db, b.id)];
  assert.equal(after[0].reserved - before[0].reserved, 2);
  assert.equal(after[1].reserved - before[1].reserved, 1);
  assert.equal(after[0].onHand, before[0].onHand, "units leave the shelf when shipped");
  const [mail] = await db.select().from(outbox).where(
    sql`json_extract(payload, '$.orderId') = ${order.id}`,
  );
  assert.equal(mail.topic, "order_mail");
  assert.equal(mail.state, "pending", "side effects run after the answer, not inside it");
});

Deno.test("[checkout] charges the price at checkout time, re-read for all lines in one query", async () => {
  const [a, b, c] = variantsInStock.slice(2);
  const queriesFor = async (lines: [number, number][], key: string) => {
    const shopper = await shopperWith(lines);
    counter.reset();
    const answer = await shopper.checkout(key);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return { answer, statements: [...counter.statements] };
  };
  await db.update(variants).set({ priceMinor: 1234 }).where(eq(variants.id, a.id));
  const one = await queriesFor([[a.id, 1]], "price-1");
  const three = await queriesFor([[a.id, 1], [b.id, 2], [c.id, 3]], "price-3");
  assert.equal((one.answer.body.order as { subtotalMinor: number }).subtotalMinor, 1234);
  assert.equal(
    one.statements.length,
    three.statements.length,
    "the same statements for one line or three",
  );
  const priceReads = three.statements.filter((s) =>
    /SELECT[\s\S]*price_minor[\s\S]*FROM cart_items/i.test(s)
  );
  assert.equal(priceReads.length, 1, "one query prices every line");
});

Deno.test("[checkout] standard shipping is free from $75, as the storefront promises", async () => {
  const [variant] = variantsInStock.slice(2);
  await db.update(variants).set({ priceMinor: 1000 }).where(eq(variants.id, variant.id));
  const small = await shopperWith([[variant.id, 1]]);
  const charged = await small.checkout("ship-small", guestCheckout({ shippingOption: "standard" }));
  assert.equal((charged.body.order as { shippingMinor: number }).shippingMinor, 499);
  const large = await shopperWith([[variant.id, 8]]);
  const free = await large.checkout("ship-large", guestCheckout({ shippingOption: "standard" }));
  const order = free.body.order as { shippingMinor: number; totalMinor: number };
  assert.equal(order.shippingMinor, 0);
  assert.equal(order.totalMinor, 8000);
});

Deno.test("[checkout] a replayed key returns the same order; the key with another cart is 422", async (t) => {
  const [a, b] = variantsInStock.slice(5);
  const shopper = await shopperWith([[a.id, 1]]);
  const first = await shopper.checkout("replay-key");
  assert.equal(first.status, 201);
  const orderId = (first.body.order as { id: string }).id;
  const ordersBefore = await countRows(db, "orders");

  await t.step("the same request again: the same order, marked as a replay", async () => {
    const again = await shopper.checkout("replay-key");
    assert.equal(again.status, 201);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(again.body.order, first.body.order);
    assert.equal(await countRows(db, "orders"), ordersBefore);
  });
  await t.step("the key with a different cart is refused and changes nothing", async () => {
    await shopper.add(b.id, 1);
    const before = await snapshot();
    const refused = await shopper.checkout("replay-key");
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error?.code, "idempotency_key_reused");
    assert.equal(refused.body.error?.field, "Idempotency-Key");
    assert.deepEqual(await snapshot(), before);
  });
  await t.step("the key with a different address is refused too", async () => {
    await shopper.json("DELETE", "/api/cart");
    const refused = await shopper.checkout(
      "replay-key",
      guestCheckout({ shippingOption: "pickup" }),
    );
    assert.equal(refused.status, 422);
  });
  await t.step("another shopper's identical key is their own", async () => {
    const other = await shopperWith([[a.id, 1]]);
    const theirs = await other.checkout("replay-key");
    assert.equal(theirs.status, 201);
    assert.notEqual((theirs.body.order as { id: string }).id, orderId);
  });
});

Deno.test("[checkout] a line short of stock is a 409 naming the short lines, and nothing changes", async () => {
  const [a, b] = variantsInStock.slice(3, 5);
  await setStock(db, b.id, 1);
  const shopper = await shopperWith([[a.id, 1], [b.id, 3]]);
  const before = await snapshot();
  const refused = await shopper.checkout("short-1");
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error?.code, "out_of_stock");
  const lines = (refused.body.error as unknown as { lines: Record<string, unknown>[] }).lines;
  assert.deepEqual(lines.map((l) => [l.variantId, l.requested, l.available]), [[b.id, 3, 1]]);
  assert.deepEqual(await snapshot(), before);
  // Once the shopper takes what is left, the same key goes through.
  await shopper.json("PATCH", `/api/cart/items/${b.id}`, { json: { quantity: 1 } });
  assert.equal((await shopper.checkout("short-1")).status, 201);
  assert.equal((await stockOf(db, b.id)).available, 0);
  await setStock(db, b.id, 40);
});

Deno.test("[checkout] invalid input answers 4xx naming the field and changes nothing", async (t) => {
  const [a] = variantsInStock;
  const shopper = await shopperWith([[a.id, 1]]);
  const address = guestCheckout().shippingAddress;
  const cases: [string, string | undefined, unknown, number, string][] = [
    ["missing Idempotency-Key", undefined, guestCheckout(), 400, "Idempotency-Key"],
    ["Idempotency-Key too long", "k".repeat(256), guestCheckout(), 400, "Idempotency-Key"],
    ["Idempotency-Key with spaces", "a b", guestCheckout(), 400, "Idempotency-Key"],
    ["not JSON", "bad-1", "{", 400, "body"],
    ["guest without email", "bad-2", guestCheckout({ email: undefined }), 400, "email"],
    ["malformed email", "bad-3", guestCheckout({ email: "nope" }), 400, "email"],
    ["no address", "bad-4", guestCheckout({ shippingAddress: undefined }), 400, "shippingAddress"],
    [
      "address without a street",
      "bad-5",
      guestCheckout({ shippingAddress: { ...address, line1: " " } }),
      400,
      "shippingAddress.line1",
    ],
    [
      "malformed postal code",
      "bad-6",
      guestCheckout({ shippingAddress: { ...address, postalCode: "<script>" } }),
      400,
      "shippingAddress.postalCode",
    ],
    [
      "unknown country",
      "bad-7",
      guestCheckout({ shippingAddress: { ...address, country: "Atlantis" } }),
      400,
      "shippingAddress.country",
    ],
    [
      "oversized name",
      "bad-8",
      guestCheckout({ shippingAddress: { ...address, name: "x".repeat(101) } }),
      400,
      "shippingAddress.name",
    ],
    [
      "unknown address field",
      "bad-9",
      guestCheckout({ shippingAddress: { ...address, floor: 3 } }),
      400,
      "shippingAddress",
    ],
    [
      "unknown shipping option",
      "bad-10",
      guestCheckout({ shippingOption: "teleport" }),
      400,
      "shippingOption",
    ],
    [
      "unknown payment method",
      "bad-11",
      guestCheckout({ paymentMethod: "iou" }),
      400,
      "paymentMethod",
    ],
    ["a client-sent total", "bad-12", guestCheckout({ totalMinor: 1 }), 400, "body"],
  ];
  for (const [name, key, body, status, field] of cases) {
    await t.step(name, async () => {
      const before = await snapshot();
      const answer = await shopper.checkout(key, body);
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal(answer.body.error?.field, field);
      assert.deepEqual(await snapshot(), before);
    });
  }
  await t.step("an empty cart is 422", async () => {
    const empty = new Shopper(shop.app);
    const answer = await empty.checkout("empty-1");
    assert.equal(answer.status, 422);
    assert.equal(answer.body.error?.code, "cart_empty");
    assert.equal(answer.body.error?.field, "cart");
  });
  await t.step("a product no longer sold is a 409 naming it", async () => {
    const [b] = variantsInStock.slice(7);
    const buyer = await shopperWith([[b.id, 1]]);
    await db.update(products).set({ isActive: false }).where(eq(products.id, b.productId));
    const before = await snapshot();
    const answer = await buyer.checkout("gone-1");
    assert.equal(answer.status, 409);
    assert.equal(answer.body.error?.code, "items_unavailable");
    assert.deepEqual(await snapshot(), before);
    await db.update(products).set({ isActive: true }).where(eq(products.id, b.productId));
  });
});

Deno.test("[checkout] a signed-in shopper's order belongs to the account and uses its email", async () => {
  const user = await createUser(db, { email: "buyer@example.com", passwordHash: "x" });
  const { token } = await shop.services.auth.tokens.issue({ id: user.id, role: "customer" });
  const shopper = new Shopper(shop.app, token);
  await shopper.add(variantsInStock[1].id, 1);
  const answer = await shopper.checkout("user-1", guestCheckout({ email: undefined }));
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  const order = answer.body.order as { id: string; userId: string; email: string };
  assert.equal(order.userId, user.id);
  assert.equal(order.email, "buyer@example.com");
  const [row] = await db.select({ userId: orders.userId }).from(orders)
    .where(eq(orders.id, order.id));
  assert.equal(row.userId, user.id);
});

Deno.test("[checkout] stock reaching the low-stock mark refreshes the product's cached page via the outbox", async () => {
  const [variant] = variantsInStock.slice(6);
  const [product] = await db.select({ slug: products.slug }).from(products)
    .where(eq(products.id, variant.productId));
  await setStock(db, variant.id, 7);
  const page = () => shop.app.request(`/p/${product.slug}`);
  await (await page()).body?.cancel();
  assert.equal((await page()).headers.get("x-cache"), "L0");
  const shopper = await shopperWith([[variant.id, 3]]);
  assert.equal((await shopper.checkout("low-1")).status, 201);
  const queued = await db.select().from(outbox)
    .where(eq(outbox.topic, "invalidate_products"));
  const mine = queued.filter((row) =>
    (row.payload.products as { productId: number }[]).some((p) => p.productId === variant.productId)
  );
  assert.equal(mine.length, 1, "one invalidation row for the product");
  assert.equal((await page()).headers.get("x-cache"), "L0", "not yet: the worker has not run");
  while (await shop.services.outbox.drainOnce() > 0) {
    // drain everything queued so far
  }
  const fresh = await page();
  assert.equal(fresh.headers.get("x-cache"), "MISS");
  // The picker's props carry each variant's stock: this one now shows 4.
  assert.match(
    await fresh.text(),
    new RegExp(`id&quot;:${variant.id},&quot;options&quot;:\\{[^}]*\\},[^}]*available&quot;:4}`),
  );
});

Deno.test("[checkout] order items snapshot names and prices", async () => {
  const rows = await db.select().from(orderItems).limit(5);
  assert.ok(rows.length > 0);
  for (const row of rows) {
    assert.ok(row.name.length > 0 && row.variantName.length > 0 && row.sku.length > 0);
    assert.ok(row.unitPriceMinor >= 0 && Number.isInteger(row.unitPriceMinor));
  }
});

Deno.test("[checkout page] the form places the order without JavaScript", async (t) => {
  const [a] = variantsInStock.slice(1);
  const browser = new Shopper(shop.app);
  await browser.send("POST", "/cart/items", { form: { variant_id: String(a.id), quantity: "1" } });
  const html = await (await browser.send("GET", "/checkout")).text();
  const key = /name="idempotency_key" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(key, "the form carries its own idempotency key");
  const form = {
    idempotency_key: key,
    email: "form@example.com",
    name: "Grace Hopper",
    line1: "1 Compiler Way",
    line2: "",
    city: "Arlington",
    region: "VA",
    postal_code: "22201",
    country: "US",
    phone: "",
    shipping_option: "standard",
    payment_method: "pay_on_delivery",
  };
  await t.step("a malformed postal code shows the form again with a 400", async () => {
    const before = await snapshot();
    const refused = await browser.send("POST", "/checkout", {
      form: { ...form, postal_code: "!" },
    });
    assert.equal(refused.status, 400);
    const page = await refused.text();
    assert.match(page, /Postal code must be 2 to 10 letters/);
    assert.match(page, /value="Grace Hopper"/, "what was typed is kept");
    assert.deepEqual(await snapshot(), before);
  });
  let location = "";
  await t.step("placing redirects to the order page", async () => {
    const placed = await browser.send("POST", "/checkout", { form });
    assert.equal(placed.status, 303);
    location = placed.headers.get("location")!;
    assert.match(location, /^\/orders\/[0-9a-f-]{36}\?token=[\w-]+&placed=1$/);
    const page = await browser.send("GET", location);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cache-control"), "private, no-store");
    const body = await page.text();
    assert.match(body, /Thank you! Your order is placed/);
    assert.match(body, /Grace Hopper/);
  });
  await t.step("a double submit of the same form replays the same order", async () => {
    const orderCount = await countRows(db, "orders");
    const again = await browser.send("POST", "/checkout", { form });
    assert.equal(again.status, 303);
    assert.equal(again.headers.get("location"), location);
    assert.equal(await countRows(db, "orders"), orderCount);
  });
  await t.step("with an empty cart the checkout page sends the shopper to the cart", async () => {
    const response = await browser.send("GET", "/checkout");
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/cart");
  });
});

Deno.test("[checkout] closes fixtures", async () => {
  await shop.close();
});
