import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { products, variants } from "../../../db/schema.ts";
import { formatMoney } from "../../../islands/format.ts";
import { openTestServices } from "../../fixtures.ts";
import { setStock, Shopper, stockedVariants } from "../checkout/shopper.ts";

const shop = await openTestServices({ productCount: 60, env: { OUTBOX_WORKER: "false" } });
const db = shop.services.database.writer;
const [first, second] = await stockedVariants(db, { minStock: 20, count: 2 });

async function cartHtml(shopper: Shopper): Promise<string> {
  const response = await shopper.send("GET", "/cart");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "private, no-store");
  return await response.text();
}

/** The `<li class="line">` of one variant on the cart page. */
function lineOf(html: string, variantId: number): string {
  const start = html.indexOf(`data-variant-id="${variantId}"`);
  assert.ok(start !== -1, `the cart lists variant ${variantId}`);
  return html.slice(start, html.indexOf("</li>", start));
}

Deno.test("[cart page] each line has its picture, options, price, steppers, remove and total", async () => {
  const shopper = new Shopper(shop.app);
  await shopper.add(first.id, 2);
  await shopper.add(second.id, 1);
  const html = await cartHtml(shopper);
  const [product] = await db.select({ name: products.name, imageUrl: products.imageUrl }).from(
    products,
  ).where(eq(products.id, first.productId));
  const [variant] = await db.select({ name: variants.name }).from(variants)
    .where(eq(variants.id, first.id));
  const line = lineOf(html, first.id);
  assert.match(line, new RegExp(`<img class="line-media" src="${product.imageUrl}"`));
  assert.ok(line.includes(product.name));
  assert.ok(line.includes(variant.name), "the chosen options");
  assert.ok(line.includes(`${formatMoney(first.priceMinor, "USD")}<span class="muted">each`));
  assert.match(
    line,
    new RegExp(
      `action="/cart/items/${first.id}"><input type="hidden" name="quantity" value="1"/>`,
    ),
    "− posts one fewer",
  );
  assert.match(
    line,
    new RegExp(
      `action="/cart/items/${first.id}"><input type="hidden" name="quantity" value="3"/>`,
    ),
    "+ posts one more",
  );
  assert.match(line, /type="number" name="quantity" value="2"/);
  assert.match(line, new RegExp(`action="/cart/items/${first.id}/remove"`));
  assert.ok(line.includes(formatMoney(first.priceMinor * 2, "USD")));
  const subtotal = formatMoney(first.priceMinor * 2 + second.priceMinor, "USD");
  assert.match(html, new RegExp(`data-testid="cart-subtotal">${subtotal.replace("$", "\\$")}<`));
  assert.match(html, /<h2[^>]*data-testid="cart-heading">3 items<\/h2>/);
  assert.match(html, /href="\/checkout" data-testid="checkout-link"/);
  assert.match(html, /data-island="CartView"/, "hydrated by the cart island");
  assert.doesNotMatch(html, /&quot;id&quot;:&quot;[au]:/, "the cart id stays out of the page");
});

Deno.test("[cart page] a line short of stock warns, and its + stops at the stock", async () => {
  const shopper = new Shopper(shop.app);
  await shopper.add(second.id, 3);
  await setStock(db, second.id, 2);
  try {
    const line = lineOf(await cartHtml(shopper), second.id);
    assert.match(line, /class="line-warning">Only 2 of .+ left; you have 3 in your cart</);
    assert.match(line, /<button type="submit" class="stepper-button" disabled[^>]*One more/);
    await setStock(db, second.id, 0);
    assert.match(lineOf(await cartHtml(shopper), second.id), /is out of stock</);
  } finally {
    await setStock(db, second.id, second.available);
  }
});

Deno.test("[cart page] the first unit's − is disabled; the stepper's post sets the quantity", async () => {
  const shopper = new Shopper(shop.app);
  await shopper.add(first.id, 1);
  assert.match(
    lineOf(await cartHtml(shopper), first.id),
    /<button type="submit" class="stepper-button" disabled[^>]*One fewer/,
  );
  const posted = await shopper.send("POST", `/cart/items/${first.id}`, {
    form: { quantity: "2" },
  });
  assert.equal(posted.status, 303);
  assert.equal(shopper.cookies.get("cart_count"), "2");
  assert.match(
    lineOf(await cartHtml(shopper), first.id),
    /type="number" name="quantity" value="2"/,
  );
});

Deno.test("[cart page] the summary tells how far free shipping is", async () => {
  const shopper = new Shopper(shop.app);
  const under = (await stockedVariants(db, { minStock: 1, count: 60 }))
    .find((variant) => variant.priceMinor < 7_500)!;
  await shopper.add(under.id, 1);
  const missing = formatMoney(7_500 - under.priceMinor, "USD");
  assert.ok((await cartHtml(shopper)).includes(`Add ${missing} more for free shipping.`));
  await shopper.send("POST", `/cart/items/${under.id}`, {
    form: { quantity: String(Math.min(99, Math.ceil(7_500 / under.priceMinor))) },
  });
  assert.match(await cartHtml(shopper), /Your order ships free\./);
});

Deno.test("[cart page] an empty cart leads back to shopping", async () => {
  const html = await cartHtml(new Shopper(shop.app));
  assert.match(html, /Your cart is empty/);
  assert.match(html, /href="\/">Start shopping/);
  assert.doesNotMatch(html, /data-testid="checkout-link"/);
});

Deno.test("[cart page] closes fixtures", async () => {
  await shop.close();
});
