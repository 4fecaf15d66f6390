import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { canTransition, ORDER_STATUSES, type OrderStatus } from "../../../db/orders.ts";
import { orderStatusHistory, outbox } from "../../../db/schema.ts";
import { createUser } from "../../../db/users.ts";
import { createQueryCounter, openTestServices } from "../../fixtures.ts";
import { countRows, setStock, Shopper, stockedVariants, stockOf } from "../checkout/shopper.ts";

const counter = createQueryCounter();
const shop = await openTestServices({
  productCount: 60,
  onQuery: counter.onQuery,
  env: { OUTBOX_WORKER: "false", CART_MAX_LINES: "20" },
});
const db = shop.services.database.writer;
const stocked = await stockedVariants(db, { minStock: 30, count: 12 });

async function signedIn(email: string, role: "customer" | "admin" = "customer") {
  const user = await createUser(db, { email, passwordHash: "unused", role });
  const { token } = await shop.services.auth.tokens.issue({ id: user.id, role });
  return { user, shopper: new Shopper(shop.app, token) };
}

/** Places an order of one unit of each of `count` variants; returns its id and link. */
async function placeOrder(shopper: Shopper, count: number, key: string) {
  for (const variant of stocked.slice(0, count)) await shopper.add(variant.id, 1);
  const answer = await shopper.checkout(key);
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  return {
    id: (answer.body.order as { id: string }).id,
    link: (answer.body.links as { api: string }).api,
  };
}

const alice = await signedIn("alice@example.com");
const admin = await signedIn("admin@example.com", "admin");
const small = await placeOrder(alice.shopper, 1, "alice-small");
const large = await placeOrder(alice.shopper, 10, "alice-large");

Deno.test("[orders] the list is the shopper's own, newest first, with cursor pages and a maximum size", async (t) => {
  const { shopper } = await signedIn("history@example.com");
  const placed: string[] = [];
  for (let i = 0; i < 5; i++) placed.push((await placeOrder(shopper, 1, `history-${i}`)).id);
  await t.step("pages of two walk every order once, newest first", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const page = await shopper.json("GET", `/api/orders${query}`);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get("cache-control"), "private, no-store");
      const items = page.body.items as { id: string; items: unknown[] }[];
      assert.ok(items.length <= 2);
      assert.ok(items.every((order) => order.items.length === 1));
      seen.push(...items.map((order) => order.id));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    assert.deepEqual(seen, [...placed].reverse());
  });
  await t.step("another shopper's orders never appear", async () => {
    const page = await alice.shopper.json("GET", "/api/orders?limit=50");
    const ids = (page.body.items as { id: string }[]).map((order) => order.id);
    assert.deepEqual(ids, [large.id, small.id]);
  });
  await t.step("bad parameters are 400 naming the field; no token is 401", async () => {
    for (
      const [query, field] of [["limit=51", "limit"], ["limit=0", "limit"], ["limit=x", "limit"]]
    ) {
      const answer = await shopper.json("GET", `/api/orders?${query}`);
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error?.field, field);
    }
    const badCursor = await shopper.json("GET", "/api/orders?cursor=bm9wZQ");
    assert.equal(badCursor.body.error?.field, "cursor");
    assert.equal((await new Shopper(shop.app).json("GET", "/api/orders")).status, 401);
  });
});

Deno.test("[orders] list and detail run a fixed number of statements whatever the number of items", async () => {
  const statementsOf = async (path: string) => {
    counter.reset();
    const answer = await alice.shopper.json("GET", path);
    assert.equal(answer.status, 200);
    return counter.count;
  };
  const detailSmall = await statementsOf(`/api/orders/${small.id}`);
  const detailLarge = await statementsOf(`/api/orders/${large.id}`);
  assert.equal(detailSmall, detailLarge, "1 item and 10 items read the same");
  assert.ok(detailLarge <= 3, `${detailLarge} statements`);

  const { shopper } = await signedIn("one-item@example.com");
  await placeOrder(shopper, 1, "one-item-1");
  counter.reset();
  await shopper.json("GET", "/api/orders");
  const listOfOneItem = counter.count;
  const listOfEleven = await statementsOf("/api/orders");
  assert.equal(listOfOneItem, listOfEleven, "one order of 1 item or two orders of 11 items");
  assert.ok(listOfEleven <= 2, `${listOfEleven} statements`);
});

Deno.test("[orders] only the owner, an admin or the signed link reads an order", async (t) => {
  const path = `/api/orders/${small.id}`;
  const token = new URL(small.link, "http://x").searchParams.get("token")!;
  const cases: [string, Shopper, string, number][] = [
    ["the owner", alice.shopper, path, 200],
    ["an admin", admin.shopper, path, 200],
    ["another shopper", (await signedIn("mallory@example.com")).shopper, path, 404],
    ["nobody", new Shopper(shop.app), path, 404],
    ["the signed link", new Shopper(shop.app), small.link, 200],
    ["a wrong token", new Shopper(shop.app), `${path}?token=${token.slice(1)}A`, 404],
    ["another order's token", new Shopper(shop.app), `/api/orders/${large.id}?token=${token}`, 404],
    ["a malformed id", alice.shopper, "/api/orders/not-an-order-id", 404],
  ];
  for (const [name, who, url, status] of cases) {
    await t.step(name, async () => {
      const answer = await who.json("GET", url);
      assert.equal(answer.status, status);
      if (status === 200) {
        const order = answer.body.order as { id: string; items: unknown[]; history: unknown[] };
        assert.equal(order.id, small.id);
        assert.equal(order.items.length, 1);
        assert.equal(order.history.length, 1);
      }
    });
  }
  await t.step("the order page takes the signed link too", async () => {
    const page = await new Shopper(shop.app).send("GET", small.link.replace("/api", ""));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Order [0-9A-F]{8}/);
    const denied = await new Shopper(shop.app).send("GET", `/orders/${small.id}`);
    assert.equal(denied.status, 404);
    await denied.body?.cancel();
  });
});

Deno.test("[orders] an order shows only its latest status entries", async () => {
  const { shopper } = await signedIn("chatty@example.com");
  const { id } = await placeOrder(shopper, 1, "chatty-1");
  await db.insert(orderStatusHistory).values(
    Array.from({ length: 40 }, (_, i) => ({
      orderId: id,
      status: "pending" as const,
      note: `note ${i}`,
      createdAt: Date.now() + i,
    })),
  );
  const answer = await shopper.json("GET", `/api/orders/${id}`);
  const history = (answer.body.order as { history: { note: string }[] }).history;
  assert.equal(history.length, 20);
  assert.equal(history[0].note, "note 39");
});

function transition(shopper: Shopper, id: string, status: string, note?: string) {
  return shopper.json("POST", `/api/admin/orders/${id}/status`, { json: { status, note } });
}

Deno.test("[admin orders] transitions follow the state machine and need the admin role", async (t) => {
  const { shopper } = await signedIn("ship-me@example.com");
  const { id } = await placeOrder(shopper, 2, "ship-me-1");
  const [a, b] = stocked;
  const before = [await stockOf(db, a.id), await stockOf(db, b.id)];
  await t.step("a customer is 403, nobody is 401", async () => {
    assert.equal((await transition(shopper, id, "shipped")).status, 403);
    assert.equal((await transition(new Shopper(shop.app), id, "shipped")).status, 401);
  });
  await t.step("pay on delivery: pending → shipped takes the units off the shelf", async () => {
    const shipped = await transition(admin.shopper, id, "shipped", "Tracking 1Z999");
    assert.equal(shipped.status, 200, JSON.stringify(shipped.body));
    const order = shipped.body.order as { status: string; history: { note: string }[] };
    assert.equal(order.status, "shipped");
    assert.equal(order.history[0].note, "Tracking 1Z999");
    const after = await stockOf(db, a.id);
    assert.equal(after.onHand, before[0].onHand - 1);
    assert.equal(after.reserved, before[0].reserved - 1);
    assert.equal(after.available, before[0].available);
  });
  await t.step("a refused transition is 409 and changes nothing", async () => {
    const historyBefore = await countRows(db, "order_status_history");
    const refused = await transition(admin.shopper, id, "cancelled");
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error?.code, "invalid_transition");
    assert.equal(await countRows(db, "order_status_history"), historyBefore);
    assert.equal((await stockOf(db, b.id)).onHand, before[1].onHand - 1);
  });
  await t.step("delivered marks a pay-on-delivery order paid", async () => {
    const delivered = await transition(admin.shopper, id, "delivered");
    const order = delivered.body.order as { status: string; paidAt: number | null };
    assert.equal(order.status, "delivered");
    assert.ok(order.paidAt);
    const mails = await db.select().from(outbox)
      .where(sql`json_extract(payload, '$.orderId') = ${id} AND topic = 'order_mail'`);
    assert.deepEqual(mails.map((m) => m.payload.kind), ["confirmation", "shipped", "delivered"]);
  });
  await t.step("bad input is 400 naming the field; an unknown order is 404", async () => {
    const bad = await transition(admin.shopper, id, "lost");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.field, "status");
    const badId = await admin.shopper.json("POST", "/api/admin/orders/nope/status", {
      json: { status: "paid" },
    });
    assert.equal(badId.body.error?.field, "id");
    const unknown = await transition(admin.shopper, crypto.randomUUID(), "paid");
    assert.equal(unknown.status, 404);
  });
});

Deno.test("[admin orders] cancelling restocks in the same transaction, once", async () => {
  const variant = stocked[11];
  await setStock(db, variant.id, 6);
  const { shopper } = await signedIn("cancel@example.com");
  await shopper.add(variant.id, 3);
  const placed = await shopper.checkout("cancel-1");
  const id = (placed.body.order as { id: string }).id;
  assert.equal((await stockOf(db, variant.id)).available, 3);
  const invalidationsBefore = await countRows(db, "outbox", sql`topic = 'invalidate_products'`);
  const answers = await Promise.all(
    [1, 2, 3].map(() => transition(admin.shopper, id, "cancelled")),
  );
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409, 409]);
  assert.deepEqual(await stockOf(db, variant.id), { onHand: 6, reserved: 0, available: 6 });
  assert.equal(
    await countRows(db, "outbox", sql`topic = 'invalidate_products'`),
    invalidationsBefore + 1,
    "the product's pages are refreshed",
  );
});

Deno.test("[orders] the database refuses exactly the transitions the state machine refuses", async (t) => {
  for (const method of ["pay_on_delivery", "card"] as const) {
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        await t.step(`${method}: ${from} → ${to}`, async () => {
          const id = crypto.randomUUID();
          await db.run(sql`INSERT INTO orders (id, email, status, currency, subtotal_minor,
            total_minor, shipping_address, payment_method, created_at, updated_at)
            VALUES (${id}, 'x@example.com', ${from}, 'USD', 0, 0, '{}', ${method}, 0, 0)`);
          const applied = await db.run(sql`UPDATE orders SET status = ${to} WHERE id = ${id}`)
            .then(() => true, (error) => {
              assert.match(String(error?.cause ?? error), /order_transition_refused/);
              return false;
            });
          // deno-lint-ignore no-explicit-any
          assert.equal(applied, canTransition(from, to as OrderStatus, method as any));
          await db.run(sql`DELETE FROM orders WHERE id = ${id}`);
        });
      }
    }
  }
});

Deno.test("[orders] closes fixtures", async () => {
  await shop.close();
});
