import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { orders, paymentEvents } from "../../../db/schema.ts";
import { signWebhook } from "../../../edge/payments/payments.ts";
import { openTestServices } from "../../fixtures.ts";
import { countRows, ORIGIN, Shopper, stockedVariants } from "../checkout/shopper.ts";

const SECRET = "whsec-test-0123456789abcdef";
const shop = await openTestServices({
  productCount: 30,
  env: {
    OUTBOX_WORKER: "false",
    PAYMENT_WEBHOOK_SECRET: SECRET,
    PAYMENT_WEBHOOK_TOLERANCE_S: "300",
  },
});
const db = shop.services.database.writer;
const [variant] = await stockedVariants(db, { minStock: 50, count: 1 });

async function newOrder(key: string): Promise<{ id: string; totalMinor: number }> {
  const shopper = new Shopper(shop.app);
  await shopper.add(variant.id, 1);
  const answer = await shopper.checkout(key);
  assert.equal(answer.status, 201);
  return answer.body.order as { id: string; totalMinor: number };
}

function event(orderId: string, amountMinor: number, id: string = crypto.randomUUID()) {
  return JSON.stringify({
    id,
    type: "payment.succeeded",
    data: { orderId, amountMinor, currency: "USD" },
  });
}

async function deliver(body: string, signature?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== undefined) headers["payment-signature"] = signature;
  const response = await shop.app.request(`${ORIGIN}/api/payments/webhook`, {
    method: "POST",
    headers,
    body,
  });
  return { status: response.status, body: await response.json() };
}

const now = () => Math.floor(Date.now() / 1000);

/** The order row and its paid history entries, to show that a refusal changed nothing. */
async function state(orderId: string) {
  const [order] = await db.select({ status: orders.status, paidAt: orders.paidAt }).from(orders)
    .where(eq(orders.id, orderId));
  return {
    order,
    paidEntries: await countRows(
      db,
      "order_status_history",
      sql`order_id = ${orderId} AND status = 'paid'`,
    ),
    events: await countRows(db, "payment_events"),
    mails: await countRows(db, "outbox", sql`json_extract(payload, '$.kind') = 'paid'`),
  };
}

Deno.test("[webhook] a valid event marks the order paid once; its replay is refused", async () => {
  const order = await newOrder("paid-once");
  const body = event(order.id, order.totalMinor, "evt_once");
  const first = await deliver(body, await signWebhook(SECRET, body, now()));
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(first.body, { received: true, orderId: order.id, status: "paid" });
  const paid = await state(order.id);
  assert.equal(paid.order.status, "paid");
  assert.ok(paid.order.paidAt);
  assert.equal(paid.paidEntries, 1);
  assert.equal(paid.mails, 1);

  const replay = await deliver(body, await signWebhook(SECRET, body, now()));
  assert.equal(replay.status, 409);
  assert.equal(replay.body.error.code, "duplicate_event");
  assert.deepEqual(await state(order.id), paid);
});

Deno.test("[webhook] forged, stale and malformed deliveries are refused and change nothing", async (t) => {
  const order = await newOrder("refusals");
  const body = event(order.id, order.totalMinor);
  const before = await state(order.id);
  const cases: [string, string, string | undefined, number, string][] = [
    ["no signature", body, undefined, 400, "invalid_signature"],
    ["garbage signature", body, "t=1,v1=zz", 400, "invalid_signature"],
    [
      "signed with another secret",
      body,
      await signWebhook("not-the-secret-xxx", body, now()),
      400,
      "invalid_signature",
    ],
    [
      "a body changed after signing",
      body.replace(String(order.totalMinor), "1"),
      await signWebhook(SECRET, body, now()),
      400,
      "invalid_signature",
    ],
    [
      "the timestamp changed after signing",
      body,
      (await signWebhook(SECRET, body, now())).replace(/t=\d+/, `t=${now() + 1}`),
      400,
      "invalid_signature",
    ],
    [
      "a stale timestamp",
      body,
      await signWebhook(SECRET, body, now() - 600),
      400,
      "stale_timestamp",
    ],
    [
      "a timestamp from the future",
      body,
      await signWebhook(SECRET, body, now() + 600),
      400,
      "stale_timestamp",
    ],
    ["not JSON", "{", await signWebhook(SECRET, "{", now()), 400, "invalid_event"],
    [
      "an amount that is not the total",
      event(order.id, order.totalMinor - 1),
      "",
      422,
      "payment_mismatch",
    ],
    ["an unknown order", event(crypto.randomUUID(), 100), "", 404, "not_found"],
  ];
  for (const [name, payload, signature, status, code] of cases) {
    await t.step(name, async () => {
      const header = signature === "" ? await signWebhook(SECRET, payload, now()) : signature;
      const answer = await deliver(payload, header);
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, code);
      assert.deepEqual(await state(order.id), before);
    });
  }
});

Deno.test("[webhook] twenty simultaneous deliveries of one event pay the order once", async () => {
  const order = await newOrder("simultaneous");
  const body = event(order.id, order.totalMinor, "evt_simultaneous");
  const signature = await signWebhook(SECRET, body, now());
  const answers = await Promise.all(Array.from({ length: 20 }, () => deliver(body, signature)));
  assert.equal(answers.filter((a) => a.status === 200).length, 1);
  assert.equal(answers.filter((a) => a.status === 409).length, 19);
  assert.equal((await state(order.id)).paidEntries, 1);
});

Deno.test("[webhook] a new event for an order already paid is refused without remembering it", async () => {
  const order = await newOrder("twice-paid");
  const first = event(order.id, order.totalMinor);
  assert.equal((await deliver(first, await signWebhook(SECRET, first, now()))).status, 200);
  const second = event(order.id, order.totalMinor, "evt_second");
  const answer = await deliver(second, await signWebhook(SECRET, second, now()));
  assert.equal(answer.status, 409);
  assert.equal(answer.body.error.code, "invalid_transition");
  const remembered = await db.select().from(paymentEvents).where(
    eq(paymentEvents.id, "evt_second"),
  );
  assert.equal(remembered.length, 0);
});

Deno.test("[webhook] without a configured secret every delivery is refused with 503", async () => {
  const bare = await openTestServices({ productCount: 0, env: { OUTBOX_WORKER: "false" } });
  try {
    const body = event(crypto.randomUUID(), 1);
    const response = await bare.app.request(`${ORIGIN}/api/payments/webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "payment-signature": await signWebhook(SECRET, body, now()),
      },
      body,
    });
    assert.equal(response.status, 503);
    assert.equal((await response.json()).error.code, "not_configured");
  } finally {
    await bare.close();
  }
});

Deno.test("[webhook] closes fixtures", async () => {
  await shop.close();
});
