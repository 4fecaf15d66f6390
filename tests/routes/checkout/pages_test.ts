import assert from "node:assert/strict";
import { formatMoney } from "../../../islands/format.ts";
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

Deno.test("[checkout page] the review carries the server's total for every shipping method", async () => {
  const shopper = new Shopper(shop.app);
  await shopper.add(first.id, 2);
  await shopper.add(second.id, 1);
  const html = await checkoutHtml(shopper);
  const subtotal = first.priceMinor * 2 + second.priceMinor;
  const totals = [...html.matchAll(/data-testid="checkout-total">.*?<\/span>([^<]+)</g)]
    .map((m) => m[1]);
  assert.deepEqual(
    totals,
    shippingOptions.map((option) => formatMoney(subtotal + option.priceMinor, "USD")),
  );
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
