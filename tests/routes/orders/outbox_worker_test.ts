import assert from "node:assert/strict";
import { eq, inArray, sql } from "drizzle-orm";
import { claimOutboxRows, countOutboxRows } from "../../../db/outbox.ts";
import { mailMessages, outbox } from "../../../db/schema.ts";
import type { OutboxConfig } from "../../../edge/platform/config.ts";
import { createLogger } from "../../../edge/platform/log.ts";
import { type OutboxWorker, startOutboxWorker } from "../../../routes/orders/outbox_worker.ts";
import { openTestServices } from "../../fixtures.ts";
import { Shopper, stockedVariants } from "../checkout/shopper.ts";

const METRICS_TOKEN = "outbox-test-metrics-token-0123";
const shop = await openTestServices({
  productCount: 30,
  env: { OUTBOX_WORKER: "false", METRICS_TOKEN },
});
const db = shop.services.database.writer;
const [variant] = await stockedVariants(db, { minStock: 100, count: 1 });

function worker(config: Partial<OutboxConfig> = {}, random = Math.random): OutboxWorker {
  return startOutboxWorker({
    database: shop.services.database,
    cache: shop.services.cache,
    logger: createLogger("error", { write: () => {} }),
    config: { ...shop.config.outbox, workerEnabled: false, ...config },
    links: shop.services.orderLinks,
    publicUrl: "https://shop.example",
    random,
  });
}

async function placeOrders(count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const shopper = new Shopper(shop.app);
    await shopper.add(variant.id, 1);
    const answer = await shopper.checkout(`${prefix}-${i}`);
    assert.equal(answer.status, 201);
    ids.push((answer.body.order as { id: string }).id);
  }
  return ids;
}

async function confirmationsFor(ids: string[]) {
  return await db.select().from(mailMessages).where(inArray(
    mailMessages.dedupeKey,
    ids.map((id) => `order_confirmation:${id}`),
  ));
}

async function drainAll(workers: OutboxWorker[]): Promise<void> {
  while ((await Promise.all(workers.map((w) => w.drainOnce()))).some((n) => n > 0)) {
    // keep going until every worker finds nothing due
  }
}

Deno.test("[outbox] three workers draining at once deliver every confirmation exactly once", async () => {
  await drainAll([worker()]);
  const ids = await placeOrders(30, "three-workers");
  const workers = [worker({ batchSize: 4 }), worker({ batchSize: 4 }), worker({ batchSize: 4 })];
  await drainAll(workers);
  const mail = await confirmationsFor(ids);
  assert.equal(mail.length, 30);
  assert.equal(new Set(mail.map((m) => m.dedupeKey)).size, 30);
  assert.ok(mail.every((m) => m.body.includes("https://shop.example/orders/")));
  const counts = await countOutboxRows(db);
  assert.equal(counts.pending, 0);
  const rows = await db.select({ attempts: outbox.attempts }).from(outbox).where(
    sql`json_extract(payload, '$.orderId') IN ${ids}`,
  );
  assert.equal(rows.length, 30);
  assert.ok(rows.every((row) => row.attempts === 1), "no row was claimed twice");
});

Deno.test("[outbox] a worker that dies after delivering is covered: the lease expires and nothing is sent twice", async () => {
  await drainAll([worker()]);
  const [id] = await placeOrders(1, "dies");
  // The dead worker claimed the row with a short lease…
  const [claimed] = await claimOutboxRows(db, { workerId: "dead-worker", limit: 10, leaseMs: 50 });
  assert.equal(claimed.payload.orderId, id);
  // …and had even delivered the mail before dying, without marking the row done.
  await db.insert(mailMessages).values({
    dedupeKey: `order_confirmation:${id}`,
    recipient: "guest@example.com",
    subject: "first delivery",
    body: "",
    createdAt: Date.now(),
  });
  const survivor = worker();
  assert.equal(await survivor.drainOnce(), 0, "the lease is still held");
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(await survivor.drainOnce(), 1, "claimable again once the lease ran out");
  const mail = await confirmationsFor([id]);
  assert.deepEqual(mail.map((m) => m.subject), ["first delivery"]);
  const [row] = await db.select().from(outbox).where(eq(outbox.id, claimed.id));
  assert.equal(row.state, "done");
  assert.equal(row.attempts, 2);
});

Deno.test("[outbox] failures retry with exponential backoff and jitter, then are dead-lettered", async () => {
  await drainAll([worker()]);
  const now = Date.now();
  const [row] = await db.insert(outbox).values({
    topic: "order_mail",
    payload: { orderId: crypto.randomUUID(), kind: "confirmation" },
    availableAt: now,
    createdAt: now,
    updatedAt: now,
  }).returning();
  const failing = worker({ retryBaseMs: 40, retryMaxMs: 100, maxAttempts: 4 }, () => 0.5);
  const delays: number[] = [];
  for (let attempt = 1; attempt <= 4; attempt++) {
    await db.update(outbox).set({ availableAt: 0 }).where(eq(outbox.id, row.id));
    const before = Date.now();
    assert.equal(await failing.drainOnce(), 1);
    const [after] = await db.select().from(outbox).where(eq(outbox.id, row.id));
    assert.equal(after.attempts, attempt);
    assert.match(after.lastError ?? "", /not found/);
    if (attempt < 4) {
      assert.equal(after.state, "pending");
      delays.push(after.availableAt - before);
    } else {
      assert.equal(after.state, "dead", "dead-lettered after the last attempt");
    }
  }
  // random() = 0.5 → three quarters of each step: 40 → 30, 80 → 60, 100 (capped) → 75.
  const expected = [30, 60, 75];
  delays.forEach((delay, i) =>
    assert.ok(delay >= expected[i] && delay < expected[i] + 500, `delays ${delays}`)
  );
  await db.update(outbox).set({ availableAt: 0 }).where(eq(outbox.id, row.id));
  assert.equal(await failing.drainOnce(), 0, "a dead row is never retried");
  const metrics = await (await shop.app.request("/metrics", {
    headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
  })).text();
  const dead = Number(/shop_outbox_rows\{state="dead"\} (\d+)/.exec(metrics)?.[1]);
  assert.ok(dead >= 1, "dead letters show in /metrics");
});

Deno.test("[outbox] a row no handler can ever process is dead-lettered at once", async () => {
  await drainAll([worker()]);
  const now = Date.now();
  const [row] = await db.insert(outbox).values({
    topic: "order_mail",
    payload: { orderId: "x", kind: "a-kind-nobody-knows" },
    availableAt: now,
    createdAt: now,
    updatedAt: now,
  }).returning();
  await worker().drainOnce();
  const [after] = await db.select().from(outbox).where(eq(outbox.id, row.id));
  assert.equal(after.state, "dead");
  assert.equal(after.attempts, 1);
});

Deno.test("[outbox] the running worker drains on its own poll, and at once when woken", async (t) => {
  await drainAll([worker()]);
  await t.step("polling finds new rows without a wake-up", async () => {
    const polling = worker({ workerEnabled: true, pollMs: 30 });
    try {
      const [id] = await placeOrders(1, "polled");
      await waitFor(async () => (await confirmationsFor([id])).length === 1);
    } finally {
      await polling.close();
    }
  });
  await t.step("a wake-up drains long before the next poll", async () => {
    const sleepy = worker({ workerEnabled: true, pollMs: 60_000 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 50)); // let it reach its sleep
      const [id] = await placeOrders(1, "woken");
      sleepy.wake();
      await waitFor(async () => (await confirmationsFor([id])).length === 1);
    } finally {
      await sleepy.close();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("[outbox] finished rows and expired keys are purged", async () => {
  const { purgeExpired } = await import("../../../db/outbox.ts");
  await db.run(sql`UPDATE outbox SET available_at = 1 WHERE state = 'done'`);
  await db.run(sql`UPDATE idempotency_keys SET expires_at = 1`);
  await purgeExpired(db, {
    now: Date.now(),
    keepDoneMs: 1000,
    paymentEventsMs: 1000,
    limit: 10_000,
  });
  const [done] = await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM outbox
    WHERE state = 'done'`);
  assert.equal(done.n, 0);
  assert.ok((await countOutboxRows(db)).dead > 0, "dead rows stay for an operator");
  const [keys] = await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM idempotency_keys`);
  assert.equal(keys.n, 0);
});

Deno.test("[outbox] closes fixtures", async () => {
  await shop.close();
});
