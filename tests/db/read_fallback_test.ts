/**
 * Catalog reads do not depend on the primary being alive: against real sqld processes, the
 * replica is given its chance when the primary is down, stale cache content stands in when no
 * copy answers, each outage is logged once, and /readyz says what is down.
 */
import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { DatabaseUnavailableError, openDatabase } from "../../db/client.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { categories } from "../../db/schema.ts";
import { findAppError } from "../../edge/platform/errors.ts";
import { createLogger } from "../../edge/platform/log.ts";
import { openTestServices, type TestServices } from "../fixtures.ts";
import { startSqldCluster } from "../services/sqld.ts";

const settings = { syncIntervalSeconds: 1, timeoutMs: 2000, replicaTimeoutMs: 300 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(read: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await read().catch(() => false)) return;
    await sleep(20);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

Deno.test("[database] with the primary down, a replica slower than its budget is waited for", async (t) => {
  const cluster = await startSqldCluster({ replicas: 1 });
  const database = openDatabase({
    url: cluster.primary.httpUrl,
    readUrl: cluster.replicas[0].httpUrl,
    ...settings,
  });
  const name = async () => {
    const [row] = await database.reader.select({ name: categories.name }).from(categories)
      .where(eq(categories.id, 1));
    return row?.name;
  };
  try {
    await migrateDatabase(database.writer);
    await database.writer.insert(categories).values({ id: 1, slug: "tents", name: "Tents" });
    await eventually(async () => await name() === "Tents");
    await cluster.killPrimary();

    /** Pauses the replica for `ms` around one read, as a replica busy under load would be. */
    const readThroughPause = async (ms: number) => {
      cluster.pauseReplica(0);
      const resume = sleep(ms).then(() => cluster.resumeReplica(0));
      const started = performance.now();
      try {
        return { name: await name(), took: performance.now() - started };
      } finally {
        await resume;
      }
    };
    await t.step("the primary has just died and nobody knows yet", async () => {
      const read = await readThroughPause(700);
      assert.equal(read.name, "Tents", "answered by the replica after its pause");
      assert.ok(read.took >= 600, `waited ${Math.round(read.took)} ms for it`);
    });
    await t.step("the primary is known to be down (its breaker is open)", async () => {
      await assert.rejects(database.writer.run(sql`UPDATE categories SET name = 'x'`));
      const read = await readThroughPause(700);
      assert.equal(read.name, "Tents");
    });
    await t.step("a shopper's own reads after a write go to the replica too", async () => {
      const [row] = await database.readerFor({ recentWrite: true })
        .select({ name: categories.name }).from(categories).where(eq(categories.id, 1));
      assert.equal(row?.name, "Tents");
    });
  } finally {
    database.close();
    await cluster.stop();
  }
});

/** A shop on a primary and one replica, logging into `lines`, with short cache lifetimes. */
async function clusterShop(lines: Record<string, unknown>[]) {
  const cluster = await startSqldCluster({ replicas: 1 });
  const logger = createLogger("info", { write: (line) => lines.push(JSON.parse(line)) });
  let shop: TestServices;
  try {
    shop = await openTestServices({
      productCount: 30,
      logger,
      env: {
        DATABASE_URL: cluster.primary.httpUrl,
        DATABASE_READ_URL: cluster.replicas[0].httpUrl,
        DATABASE_REPLICA_TIMEOUT_MS: "300",
        DATABASE_TIMEOUT_MS: "2000",
        READINESS_CACHE_MS: "0",
        // Fresh for 1 s, no revalidation window, then stale content only when the origin fails.
        CACHE_PRODUCT_FRESH_S: "1",
        CACHE_PRODUCT_SWR_S: "0",
        CACHE_PRODUCT_STALE_IF_ERROR_S: "3600",
        CACHE_TTL_JITTER_PERCENT: "0",
      },
    });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  await eventually(async () => {
    const response = await shop.app.request("http://localhost/api/products?limit=30");
    return response.status === 200 && (await response.json()).items.length === 30;
  });
  return { cluster, shop };
}

async function get(shop: TestServices, path: string) {
  const response = await shop.app.request(`http://localhost${path}`);
  const body = await response.text();
  return { status: response.status, headers: response.headers, body };
}

Deno.test("[database] catalog reads survive the primary, then stale content survives both", async (t) => {
  const lines: Record<string, unknown>[] = [];
  const { cluster, shop } = await clusterShop(lines);
  try {
    const listing = JSON.parse((await get(shop, "/api/products?limit=3")).body);
    const slug = listing.items[0].slug as string;
    assert.equal((await get(shop, `/api/products/${slug}`)).status, 200, "cached once");

    await t.step("/readyz is ok with everything up", async () => {
      const ready = await get(shop, "/readyz");
      assert.equal(ready.status, 200);
      assert.equal(JSON.parse(ready.body).status, "ok");
    });

    await cluster.killPrimary();
    await t.step(
      "with the primary dead and the replica busy, uncached reads still answer",
      async () => {
        cluster.pauseReplica(0);
        const resume = sleep(600).then(() => cluster.resumeReplica(0));
        const sorts = ["price_asc", "price_desc", "newest", "name", "featured"];
        const reads = await Promise.all(
          Array.from(
            { length: 40 },
            (_, i) => get(shop, `/api/products?limit=${i + 1}&sort=${sorts[i % sorts.length]}`),
          ),
        );
        await resume;
        assert.deepEqual(
          reads.filter((r) => r.status !== 200).map((r) => r.status),
          [],
        );
      },
    );
    await t.step("writes answer 503 with Retry-After", async () => {
      const write = await shop.app.request("http://localhost/api/auth/register", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://localhost" },
        body: JSON.stringify({ email: "new@example.com", password: "correct horse" }),
      });
      assert.equal(write.status, 503);
      assert.ok(Number(write.headers.get("retry-after")) >= 1);
      await write.body?.cancel();
    });
    await t.step(
      "/readyz: degraded, naming the primary, still 200 for the load balancer",
      async () => {
        const ready = await get(shop, "/readyz");
        assert.equal(ready.status, 200);
        const report = JSON.parse(ready.body);
        assert.equal(report.status, "degraded");
        assert.deepEqual(report.down, ["primary"]);
      },
    );

    await cluster.killReplica(0);
    await sleep(1100); // the cached product is past its fresh lifetime
    await t.step("no copy answers: the stale product stands in", async () => {
      const product = await get(shop, `/api/products/${slug}`);
      assert.equal(product.status, 200);
      assert.equal(product.headers.get("x-cache"), "STALE");
      assert.equal(JSON.parse(product.body).slug, slug);
    });
    await t.step("no copy answers and nothing cached: 503 with Retry-After, not 500", async () => {
      const uncached = await get(shop, "/api/products?limit=77");
      assert.equal(uncached.status, 503);
      assert.ok(Number(uncached.headers.get("retry-after")) >= 1);
    });
    await t.step("/readyz: unavailable, 503", async () => {
      const ready = await get(shop, "/readyz");
      assert.equal(ready.status, 503);
      assert.equal(JSON.parse(ready.body).status, "unavailable");
    });
    await t.step("each outage is logged once, not per request", () => {
      const count = (pattern: RegExp) => lines.filter((l) => pattern.test(String(l.msg))).length;
      const primaryDown = lines.filter((l) =>
        l.msg === "database unreachable" && l.target === "primary"
      );
      assert.equal(primaryDown.length, 1, "primary unreachable");
      assert.equal(count(/continue from the replica alone/), 1, "reads on the replica alone");
      assert.equal(count(/no database copy answers reads/), 1, "no copy answers");
    });
  } finally {
    await shop.close();
    await cluster.stop();
  }
});

Deno.test("[database] a primary dying inside a transaction is a 503, and its rollback proves nothing", async () => {
  const cluster = await startSqldCluster({ replicas: 0 });
  const database = openDatabase({ url: cluster.primary.httpUrl, ...settings });
  try {
    await migrateDatabase(database.writer);
    await database.writer.insert(categories).values({ id: 1, slug: "tents", name: "Tents" });
    const failure = await database.writer.transaction(async (tx) => {
      await tx.select().from(categories);
      await cluster.killPrimary();
      await tx.update(categories).set({ name: "Shelters" }).where(eq(categories.id, 1));
    }).then(() => undefined, (error) => error);
    assert.ok(findAppError(failure) instanceof DatabaseUnavailableError, String(failure));
    const started = performance.now();
    const next = await database.writer.run(sql`UPDATE categories SET name = 'x'`)
      .then(() => undefined, (error) => error);
    assert.ok(findAppError(next) instanceof DatabaseUnavailableError);
    assert.ok(performance.now() - started < 100, "refused at once: the rollback did not reset it");
  } finally {
    database.close();
    await cluster.stop();
  }
});
