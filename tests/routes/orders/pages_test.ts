import assert from "node:assert/strict";
import { type OrderDetail, transitionOrder } from "../../../db/orders.ts";
import { trackingSteps } from "../../../routes/orders/order_page.tsx";
import { ORDER_HISTORY_PAGE } from "../../../routes/orders/pages.tsx";
import { openTestServices } from "../../fixtures.ts";
import { guestCheckout, Shopper, stockedVariants } from "../checkout/shopper.ts";

const shop = await openTestServices({ productCount: 60, env: { OUTBOX_WORKER: "false" } });
const db = shop.services.database.writer;
const [variant] = await stockedVariants(db, { minStock: 50, count: 1 });

/** A shopper with an account, signed in through the HTML forms (as a browser would be). */
async function signedIn(email: string): Promise<Shopper> {
  const shopper = new Shopper(shop.app);
  const form = { email, password: "a long passphrase" };
  assert.equal((await shopper.send("POST", "/account/register", { form })).status, 303);
  assert.equal((await shopper.send("POST", "/account/login", { form })).status, 303);
  return shopper;
}

async function placeOrder(shopper: Shopper, key: string): Promise<string> {
  assert.equal((await shopper.add(variant.id, 1)).status, 201);
  const answer = await shopper.checkout(key, guestCheckout());
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  return (answer.body.order as { id: string }).id;
}

async function page(shopper: Shopper, path: string) {
  const response = await shopper.send("GET", path);
  return { status: response.status, headers: response.headers, html: await response.text() };
}

/** An order as the tracking steps read it; override any part. */
function orderWith(overrides: Partial<OrderDetail>): OrderDetail {
  return {
    id: "00000000-0000-4000-8000-000000000000",
    userId: null,
    email: "ada@example.com",
    status: "pending",
    currency: "USD",
    subtotalMinor: 1000,
    shippingMinor: 499,
    totalMinor: 1499,
    itemCount: 1,
    shippingOption: "standard",
    paymentMethod: "pay_on_delivery",
    paidAt: null,
    createdAt: 1_000,
    updatedAt: 1_000,
    items: [],
    shippingAddress: {
      name: "Ada",
      line1: "1 Row",
      city: "London",
      postalCode: "N1",
      country: "GB",
    },
    history: [{ status: "pending", note: "Order placed", createdAt: 1_000 }],
    ...overrides,
  };
}

Deno.test("[order tracking] steps follow the order's status", async (t) => {
  await t.step("a new pay-on-delivery order: placed, then shipped and delivered to come", () => {
    const steps = trackingSteps(orderWith({}));
    assert.deepEqual(
      steps.map((s) => [s.status, s.state, s.at]),
      [["pending", "current", 1_000], ["shipped", "upcoming", undefined], [
        "delivered",
        "upcoming",
        undefined,
      ]],
    );
    assert.equal(steps[0].note, undefined, "a note that repeats the step's name is left out");
  });
  await t.step("a shipped order shows when it shipped and the tracking note", () => {
    const steps = trackingSteps(orderWith({
      status: "shipped",
      history: [
        { status: "shipped", note: "Tracking 1Z999", createdAt: 2_000 },
        { status: "pending", note: "Order placed", createdAt: 1_000 },
      ],
    }));
    assert.deepEqual(steps.map((s) => s.state), ["done", "current", "upcoming"]);
    assert.equal(steps[1].note, "Tracking 1Z999");
    assert.equal(steps[1].at, 2_000);
  });
  await t.step("a paid order shows its payment as a step", () => {
    const steps = trackingSteps(orderWith({
      status: "paid",
      history: [
        { status: "paid", note: "Payment received", createdAt: 2_000 },
        { status: "pending", note: "Order placed", createdAt: 1_000 },
      ],
    }));
    assert.deepEqual(steps.map((s) => s.status), ["pending", "paid", "shipped", "delivered"]);
    assert.deepEqual(steps.map((s) => s.state), ["done", "current", "upcoming", "upcoming"]);
  });
  await t.step("a cancelled order ends with the cancellation, after what it reached", () => {
    const steps = trackingSteps(orderWith({
      status: "cancelled",
      history: [
        { status: "cancelled", note: "Out of stock", createdAt: 2_000 },
        { status: "pending", note: "Order placed", createdAt: 1_000 },
      ],
    }));
    assert.deepEqual(steps.map((s) => [s.status, s.state]), [
      ["pending", "done"],
      ["cancelled", "current"],
    ]);
  });
});

Deno.test("[account pages] an anonymous shopper is sent to sign in, and back afterwards", async (t) => {
  const anonymous = new Shopper(shop.app);
  for (const path of ["/account", "/account/orders", `/account/orders/${crypto.randomUUID()}`]) {
    await t.step(path, async () => {
      const response = await anonymous.send("GET", path);
      assert.equal(response.status, 303);
      assert.equal(
        response.headers.get("location"),
        `/account/login?next=${encodeURIComponent(path)}`,
      );
      await response.body?.cancel();
    });
  }
  await t.step("the sign-in form carries where to go, and goes there", async () => {
    const form = await page(anonymous, "/account/login?next=%2Faccount%2Forders");
    assert.match(form.html, /<input type="hidden" name="next" value="\/account\/orders"\/>/);
    assert.match(form.html, /href="\/account\/register\?next=%2Faccount%2Forders"/);
    const credentials = { email: "back@example.com", password: "a long passphrase" };
    const registered = await anonymous.send("POST", "/account/register", {
      form: { ...credentials, next: "/account/orders" },
    });
    assert.equal(
      registered.headers.get("location"),
      "/account/login?registered=1&next=%2Faccount%2Forders",
    );
    const login = await anonymous.send("POST", "/account/login", {
      form: { ...credentials, next: "/account/orders" },
    });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get("location"), "/account/orders");
    assert.equal((await page(anonymous, "/account/orders")).status, 200);
  });
  await t.step("a next that leaves the shop goes home instead", async () => {
    const shopper = new Shopper(shop.app);
    const credentials = { email: "back@example.com", password: "a long passphrase" };
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const login = await shopper.send("POST", "/account/login", {
        form: { ...credentials, next },
      });
      assert.equal(login.headers.get("location"), "/", next);
    }
  });
});

Deno.test("[account pages] the account's orders: overview, history in cursor pages, tracking", async (t) => {
  const ada = await signedIn("ada@example.com");
  const ids: string[] = [];
  for (let i = 0; i < ORDER_HISTORY_PAGE + 1; i++) ids.push(await placeOrder(ada, `ada-${i}`));
  const newest = ids.at(-1)!;

  await t.step("the overview shows the profile and the latest orders", async () => {
    const overview = await page(ada, "/account");
    assert.equal(overview.status, 200);
    assert.equal(overview.headers.get("cache-control"), "private, no-store");
    assert.match(overview.html, /Hello, ada/);
    assert.match(overview.html, /ada@example\.com/);
    assert.equal(overview.html.match(/data-testid="order-card"/g)?.length, 3);
    assert.match(overview.html, /action="\/api\/auth\/logout"/);
  });

  await t.step("the history pages by cursor", async () => {
    const first = await page(ada, "/account/orders");
    assert.equal(first.headers.get("cache-control"), "private, no-store");
    const cards = [...first.html.matchAll(/href="\/account\/orders\/([0-9a-f-]{36})"/g)]
      .map((m) => m[1]);
    assert.equal(cards.length, ORDER_HISTORY_PAGE);
    const next = /rel="next" href="([^"]+)"/.exec(first.html)?.[1];
    assert.ok(next, "a link to the older orders");
    const second = await page(ada, next.replaceAll("&amp;", "&"));
    const older = [...second.html.matchAll(/href="\/account\/orders\/([0-9a-f-]{36})"/g)]
      .map((m) => m[1]);
    assert.equal(older.length, 1);
    assert.deepEqual([...cards, ...older].sort(), [...ids].sort(), "every order once");
    assert.doesNotMatch(second.html, /rel="next"/);
    assert.match(second.html, /href="\/account\/orders">Newest orders/);
  });

  await t.step("an order's page tracks it: placed, then shipped with its note", async () => {
    const placed = await page(ada, `/account/orders/${newest}`);
    assert.equal(placed.status, 200);
    assert.match(placed.html, /class="timeline-step current step-pending"/);
    await transitionOrder(db, newest, "shipped", { note: "Tracking number 1Z999" });
    const shipped = await page(ada, `/account/orders/${newest}`);
    assert.match(shipped.html, /class="timeline-step done step-pending"/);
    assert.match(
      shipped.html,
      /class="timeline-step current step-shipped"[^]*Tracking number 1Z999/,
    );
    assert.match(shipped.html, /On its way/);
  });

  await t.step("another account's order is not found", async () => {
    const grace = await signedIn("grace@example.com");
    const response = await grace.send("GET", `/account/orders/${newest}`);
    assert.equal(response.status, 404);
    await response.body?.cancel();
    const empty = await page(grace, "/account/orders");
    assert.match(empty.html, /No orders yet/);
  });

  await t.step("signing out ends the account pages in this browser", async () => {
    await ada.send("POST", "/api/auth/logout", { form: {} });
    const response = await ada.send("GET", "/account/orders");
    assert.equal(response.status, 303);
    await response.body?.cancel();
  });
});

Deno.test("[order page] the confirmation thanks the shopper; a guest is offered an account", async () => {
  const guest = new Shopper(shop.app);
  const id = await placeOrder(guest, "guest-confirmation");
  const link = await shop.services.orderLinks.pagePath(id);
  const confirmation = await page(guest, `${link}&placed=1`);
  assert.equal(confirmation.status, 200);
  assert.match(confirmation.html, /Thank you! Your order is placed\./);
  assert.match(confirmation.html, /button-primary" href="\/account\/register">Create an account/);
  assert.match(confirmation.html, /guest@example\.com/);
  const again = await page(new Shopper(shop.app), link);
  assert.doesNotMatch(again.html, /Thank you/, "only right after checkout");
  assert.match(again.html, /<h1>Order [0-9A-F]{8}<\/h1>/);

  const ada = await signedIn("ada-confirmation@example.com");
  const own = await placeOrder(ada, "ada-confirmation");
  const thanks = await page(ada, `${await shop.services.orderLinks.pagePath(own)}&placed=1`);
  assert.match(thanks.html, new RegExp(`href="/account/orders/${own}">View in your account`));
  const someoneElses = await page(ada, `${link}&placed=1`);
  assert.doesNotMatch(
    someoneElses.html,
    /View in your account|button-primary" href="\/account\/register"/,
    "another account reads the order, but it is not theirs to keep",
  );
});

Deno.test("[order pages] closes fixtures", async () => {
  await shop.close();
});
