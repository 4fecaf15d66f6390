import assert from "node:assert/strict";
import { openTestServices } from "../../fixtures.ts";
import { countRows, setStock, Shopper, stockedVariants } from "./shopper.ts";

const shop = await openTestServices({ productCount: 60, env: { OUTBOX_WORKER: "false" } });
const db = shop.services.database.writer;
const [first, second] = await stockedVariants(db, { minStock: 20, count: 2 });
const shippingOptions = shop.config.checkout.shippingOptions;

async function checkoutHtml(shopper: Shopper): Promise<string> {
  const response = await shopper.send("GET", "/checkout");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "private, no-store");
  return await response.text();
}

/** A complete guest form, as the page would post it; override any field. */
function guestForm(key: string, overrides: Record<string, string> = {}) {
  return {
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
    ...overrides,
  };
}

/** The totals the review shows, one per shipping method, in their order. */
function reviewTotals(html: string): string[] {
  return [...html.matchAll(/data-testid="checkout-total">.*?<\/span>([^<]+)</g)].map((m) => m[1]);
}

Deno.test("[checkout page] the review's total for each shipping method is what the order charges", async (t) => {
  const cheap = (await stockedVariants(db, { minStock: 1, count: 60 }))
    .find((variant) => variant.priceMinor < 7_500)!;
  const over = Math.ceil(7_500 / first.priceMinor);
  const carts: [string, [number, number][]][] = [
    ["under the free-shipping mark", [[cheap.id, 1]]],
    ["over it", [[first.id, over]]],
  ];
  for (const [cart, lines] of carts) {
    for (const [index, option] of shippingOptions.entries()) {
      await t.step(`${cart}, ${option.id}`, async () => {
        for (const [id] of lines) await setStock(db, id, 500);
        const shopper = new Shopper(shop.app);
        for (const [id, quantity] of lines) await shopper.add(id, quantity);
        const html = await checkoutHtml(shopper);
        const shown = reviewTotals(html);
        assert.equal(shown.length, shippingOptions.length);
        const key = /name="idempotency_key" value="([^"]+)"/.exec(html)![1];
        const placed = await shopper.send("POST", "/checkout", {
          form: guestForm(key, { shipping_option: option.id }),
        });
        assert.equal(placed.status, 303);
        const order = await (await shopper.send("GET", placed.headers.get("location")!)).text();
        const charged = /data-testid="order-total">([^<]+)</.exec(order)![1];
        assert.equal(shown[index], charged);
      });
    }
  }
  await t.step("free standard shipping shows on the method over the mark", async () => {
    const shopper = new Shopper(shop.app);
    await shopper.add(first.id, over);
    const html = await checkoutHtml(shopper);
    assert.match(
      html,
      /Standard \(3–5 business days\)<\/span><span class="choice-detail">Free: your order is over \$75\.00<\/span><\/span><span class="choice-price">Free</,
    );
  });
});

Deno.test("[checkout page] the form carries its island and its own idempotency key", async () => {
  const shopper = new Shopper(shop.app);
  await shopper.add(first.id, 1);
  const html = await checkoutHtml(shopper);
  assert.match(html, /name="shipping_option" value="standard" checked/);
  assert.match(html, /data-island="CheckoutButton"/);
  assert.match(html, /<input type="hidden" name="idempotency_key" value="[0-9a-f-]{36}"\/>/);
});

Deno.test("[checkout page] a guest is offered sign-in; an account orders as itself", async () => {
  const guest = new Shopper(shop.app);
  await guest.add(first.id, 1);
  const page = await checkoutHtml(guest);
  assert.match(page, /id="field-email"/);
  assert.match(page, /href="\/account\/login\?next=%2Fcheckout"/);

  const form = { email: "checkout-page@example.com", password: "a long passphrase" };
  await guest.send("POST", "/account/register", { form });
  await guest.send("POST", "/account/login", { form });
  const signedIn = await checkoutHtml(guest);
  assert.doesNotMatch(signedIn, /id="field-email"/);
  assert.match(signedIn, /Ordering as <strong>checkout-page@example\.com<\/strong>/);
});

Deno.test("[checkout page] a refused field is marked where it is, and the form keeps its values", async () => {
  const shopper = new Shopper(shop.app);
  await shopper.add(first.id, 1);
  const key = /name="idempotency_key" value="([^"]+)"/.exec(await checkoutHtml(shopper))![1];
  const orders = await countRows(db, "orders");
  const refused = await shopper.send("POST", "/checkout", {
    form: guestForm(key, { postal_code: "!" }),
  });
  assert.equal(refused.status, 400);
  const html = await refused.text();
  assert.match(html, /id="field-postal_code"[^>]*aria-invalid="true"/);
  assert.match(
    html,
    /<p class="field-error" id="field-postal_code-error" data-error-for="postal_code">Postal code must be 2 to 10 letters, digits, spaces or dashes\.<\/p>/,
  );
  assert.match(html, /<a href="#field-postal_code">Postal code must be/, "the summary links it");
  assert.doesNotMatch(html, /id="field-city"[^>]*aria-invalid/);
  assert.match(html, new RegExp(`name="idempotency_key" value="${key}"`), "the same attempt");
  assert.match(html, /value="Grace Hopper"/);
  assert.equal(await countRows(db, "orders"), orders);
});

Deno.test("[checkout page] stock gone at the last moment names the line and leads to the cart", async () => {
  const shopper = new Shopper(shop.app);
  await shopper.add(second.id, 2);
  const key = /name="idempotency_key" value="([^"]+)"/.exec(await checkoutHtml(shopper))![1];
  await setStock(db, second.id, 1);
  try {
    const refused = await shopper.send("POST", "/checkout", { form: guestForm(key) });
    assert.equal(refused.status, 409);
    const html = await refused.text();
    assert.match(html, /Not enough stock for .+ \(1 left\)/);
    assert.match(html, /<a href="\/cart">Review your cart<\/a>/);
  } finally {
    await setStock(db, second.id, second.available);
  }
});

Deno.test("[checkout page] closes fixtures", async () => {
  await shop.close();
});
