/**
 * The checkout's race guarantees on the real topology: a sqld primary (with a replica for
 * reads) and two shop instances, each with its own services, as two edge nodes would be.
 */
import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { orders } from "../../../db/schema.ts";
import { openTestServices, type TestServices } from "../../fixtures.ts";
import { startSqldCluster } from "../../services/sqld.ts";
import { countRows, setStock, Shopper, stockedVariants, stockOf } from "./shopper.ts";

const cluster = await startSqldCluster({ replicas: 1 });
const env = {
  DATABASE_URL: cluster.primary.httpUrl,
  DATABASE_READ_URL: cluster.replicas[0].httpUrl,
  // Both nodes must verify each other's cart cookies.
  SHOP_SECRET: "a-test-secret-shared-by-both-shop-instances",
  // A busy CI machine: a generous budget per call instead of a breaker tripping on a slow one.
  DATABASE_TIMEOUT_MS: "15000",
  OUTBOX_WORKER: "false",
};
let nodes: TestServices[] = [];
try {
  nodes = [
    await openTestServices({ productCount: 30, env }),
    await openTestServices({ productCount: 0, env }),
  ];
} catch (error) {
  await Promise.all(nodes.map((node) => node.close()));
  await cluster.stop();
  throw error;
}
const [a] = nodes;
const primary = a.services.database.writer;
const [contested, other] = await stockedVariants(primary, { minStock: 1, count: 2 });

/** Adds one unit to `count` new carts, alternating between the two nodes. */
async function shoppersWithOneUnit(count: number, variantId: number): Promise<Shopper[]> {
  const shoppers = Array.from({ length: count }, (_, i) => new Shopper(nodes[i % 2].app));
  for (let i = 0; i < count; i += 50) {
    const added = await Promise.all(shoppers.slice(i, i + 50).map((s) => s.add(variantId, 1)));
    assert.ok(added.every((answer) => answer.status === 201));
  }
  return shoppers;
}

/** Watches a variant's stock until stopped; resolves with the lowest values seen. */
function watchStock(variantId: number) {
  let stopped = false;
  let lowestAvailable = Infinity;
  let lowestOnHand = Infinity;
  const done = (async () => {
    while (!stopped) {
      const stock = await stockOf(primary, variantId);
      lowestAvailable = Math.min(lowestAvailable, stock.available);
      lowestOnHand = Math.min(lowestOnHand, stock.onHand);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return async () => {
    stopped = true;
    await done;
    return { lowestAvailable, lowestOnHand };
  };
}

Deno.test("[checkout on sqld] 500 concurrent checkouts of 10 units on two nodes give exactly 10 orders", async () => {
  await setStock(primary, contested.id, 10);
  const shoppers = await shoppersWithOneUnit(500, contested.id);
  const ordersBefore = await countRows(primary, "orders");
  const stopWatching = watchStock(contested.id);
  const answers = await Promise.all(shoppers.map((shopper, i) => shopper.checkout(`race-${i}`)));
  const seen = await stopWatching();

  const statuses = new Map<string, number>();
  for (const answer of answers) {
    const key = `${answer.status} ${answer.body.error?.code ?? "placed"}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(statuses), { "201 placed": 10, "409 out_of_stock": 490 });
  const refused = answers.find((answer) => answer.status === 409)!;
  const lines = (refused.body.error as unknown as { lines: { variantId: number }[] }).lines;
  assert.deepEqual(lines.map((line) => line.variantId), [contested.id]);

  assert.equal(await countRows(primary, "orders") - ordersBefore, 10);
  const placedIds = answers.filter((a) => a.status === 201)
    .map((a) => (a.body.order as { id: string }).id);
  assert.equal(new Set(placedIds).size, 10);
  const stock = await stockOf(primary, contested.id);
  assert.deepEqual(stock, { onHand: 10, reserved: 10, available: 0 });
  assert.ok(seen.lowestAvailable >= 0, `available went to ${seen.lowestAvailable}`);
  assert.ok(seen.lowestOnHand >= 0);
});

Deno.test("[checkout on sqld] 50 concurrent requests with one Idempotency-Key give one order", async () => {
  await setStock(primary, other.id, 100);
  const shopper = new Shopper(a.app);
  assert.equal((await shopper.add(other.id, 2)).status, 201);
  const ordersBefore = await countRows(primary, "orders");
  // The same shopper (same cookies) hits both nodes at once with the same key.
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => {
    shopper.app = nodes[i % 2].app;
    return shopper.checkout("one-key-for-all");
  }));
  assert.deepEqual(answers.map((answer) => answer.status), Array(50).fill(201));
  const ids = new Set(answers.map((answer) => (answer.body.order as { id: string }).id));
  assert.equal(ids.size, 1);
  assert.equal(await countRows(primary, "orders") - ordersBefore, 1);
  assert.equal(answers.filter((a) => a.headers.get("idempotent-replayed") === "true").length, 49);
  assert.equal((await stockOf(primary, other.id)).reserved, 2);
  const [order] = await primary.select().from(orders).where(eq(orders.id, [...ids][0]));
  assert.equal(order.itemCount, 2);
});

Deno.test("[checkout on sqld] closes fixtures", async () => {
  await Promise.all(nodes.map((node) => node.close()));
  await cluster.stop();
});
