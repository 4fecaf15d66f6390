/**
 * The replicated topology against real sqld processes: a primary, two replicas, and embedded
 * replicas syncing from the primary.
 */
import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { type Database, DatabaseUnavailableError, openDatabase } from "../../db/client.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { categories } from "../../db/schema.ts";
import { openTestServices } from "../fixtures.ts";
import { listSqldProcesses, startSqldCluster } from "../services/sqld.ts";

const settings = { syncIntervalSeconds: 1, timeoutMs: 2000, replicaTimeoutMs: 300 };

/** Polls `read` until it returns true, failing after `timeoutMs`. */
async function eventually(read: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await read()) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

async function categoryName(db: Database["reader"], id: number): Promise<string | undefined> {
  const [row] = await db.select({ name: categories.name }).from(categories)
    .where(eq(categories.id, id));
  return row?.name;
}

Deno.test("[replication] a write through the writer becomes visible through each kind of reader", async (t) => {
  const cluster = await startSqldCluster({ replicas: 2 });
  const dir = await Deno.makeTempDir({ prefix: "shop-replica-" });
  const viaSqld = openDatabase({
    url: cluster.primary.httpUrl,
    readUrl: cluster.replicas[0].httpUrl,
    ...settings,
  });
  const viaEmbedded = openDatabase({
    url: cluster.primary.httpUrl,
    readUrl: `file:${dir}/replica.db`,
    ...settings,
  });
  try {
    assert.equal(viaSqld.topology, "sqld-replica");
    assert.equal(viaEmbedded.topology, "embedded-replica");
    await migrateDatabase(viaSqld.writer);
    await viaSqld.writer.insert(categories).values({ id: 1, slug: "tents", name: "Tents" });

    await t.step("sqld replica over HTTP", async () => {
      const lag = await eventually(async () =>
        (await categoryName(viaSqld.reader, 1).catch(() => undefined)) === "Tents"
      );
      console.log(`  visible on the sqld replica after ${lag.toFixed(0)} ms`);
    });
    await t.step("second sqld replica", async () => {
      const other = openDatabase({
        url: cluster.primary.httpUrl,
        readUrl: cluster.replicas[1].httpUrl,
        ...settings,
      });
      try {
        await eventually(async () =>
          (await categoryName(other.reader, 1).catch(() => undefined)) === "Tents"
        );
      } finally {
        other.close();
      }
    });
    await t.step("embedded replica (sync)", async () => {
      await viaEmbedded.sync();
      assert.equal(await categoryName(viaEmbedded.reader, 1), "Tents");
      await viaEmbedded.writer.update(categories).set({ name: "Shelters" })
        .where(eq(categories.id, 1));
      await viaEmbedded.sync();
      assert.equal(await categoryName(viaEmbedded.reader, 1), "Shelters");
    });
  } finally {
    viaSqld.close();
    viaEmbedded.close();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[replication] read-your-writes holds while the replica lags", async (t) => {
  const cluster = await startSqldCluster({ replicas: 1 });
  const dir = await Deno.makeTempDir({ prefix: "shop-ryw-" });
  try {
    await t.step("embedded replica that has not synced yet", async () => {
      const database = openDatabase({
        url: cluster.primary.httpUrl,
        readUrl: `file:${dir}/replica.db`,
        ...settings,
        syncIntervalSeconds: 3600, // replication is held back for the whole test
      });
      try {
        await migrateDatabase(database.writer);
        await database.writer.insert(categories).values({ id: 1, slug: "c", name: "Before" });
        await database.sync();
        await database.writer.update(categories).set({ name: "After" })
          .where(eq(categories.id, 1));
        assert.equal(await categoryName(database.reader, 1), "Before", "the replica lags");
        const own = await categoryName(database.readerFor({ recentWrite: true }), 1);
        assert.equal(own, "After", "the shopper who wrote reads their write at once");
        assert.equal(database.readerFor({ recentWrite: false }), database.reader);
      } finally {
        database.close();
      }
    });
    await t.step("sqld replica paused mid-replication", async () => {
      const database = openDatabase({
        url: cluster.primary.httpUrl,
        readUrl: cluster.replicas[0].httpUrl,
        ...settings,
        replicaTimeoutMs: 5000, // a paused replica must lag, not time out, here
      });
      try {
        await eventually(async () =>
          (await categoryName(database.reader, 1).catch(() => undefined)) === "After"
        );
        cluster.pauseReplica(0);
        await database.writer.update(categories).set({ name: "Later" })
          .where(eq(categories.id, 1));
        assert.equal(await categoryName(database.readerFor({ recentWrite: true }), 1), "Later");
        cluster.resumeReplica(0);
        await eventually(async () => (await categoryName(database.reader, 1)) === "Later");
      } finally {
        database.close();
      }
    });
  } finally {
    await cluster.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[replication] a shopper reads their own account change at once through a lagging replica", async () => {
  const cluster = await startSqldCluster({ replicas: 0 });
  const dir = await Deno.makeTempDir({ prefix: "shop-ryw-http-" });
  const shop = await openTestServices({
    productCount: 0,
    env: {
      DATABASE_URL: cluster.primary.httpUrl,
      DATABASE_READ_URL: `file:${dir}/replica.db`,
      DATABASE_SYNC_INTERVAL: "3600", // the embedded replica lags for the whole test
    },
  });
  const origin = "http://shop.test";
  const json = (
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ) =>
    shop.app.request(`${origin}${path}`, {
      method,
      headers: { origin, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  try {
    const credentials = { email: "ada@example.com", password: "correct horse battery" };
    assert.equal((await json("POST", "/api/auth/register", credentials)).status, 202);
    const login = await json("POST", "/api/auth/login", credentials);
    assert.equal(login.status, 200);
    const bearer = { authorization: `Bearer ${(await login.json()).accessToken}` };
    await shop.services.database.sync(); // the replica now knows the account, not what follows

    const changed = await json("PATCH", "/api/auth/me", { name: "Ada Lovelace" }, bearer);
    assert.equal(changed.status, 200);
    const stamp = changed.headers.getSetCookie().find((c) => c.startsWith("last_write="));
    assert.ok(stamp, "a write stamps the read-your-writes cookie");

    const fromReplica = await shop.app.request(`${origin}/api/auth/me`, { headers: bearer });
    assert.equal((await fromReplica.json()).name, "", "without the stamp: the lagging replica");
    const own = await shop.app.request(`${origin}/api/auth/me`, {
      headers: { ...bearer, cookie: stamp.split(";")[0] },
    });
    assert.equal(own.status, 200);
    assert.equal((await own.json()).name, "Ada Lovelace", "the shopper sees their own write");
  } finally {
    await shop.close();
    await cluster.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[replication] the shop serves the catalog from a replica and survives losing it", async (t) => {
  const cluster = await startSqldCluster({ replicas: 1 });
  const shop = await openTestServices({
    productCount: 50,
    env: {
      DATABASE_URL: cluster.primary.httpUrl,
      DATABASE_READ_URL: cluster.replicas[0].httpUrl,
      DATABASE_REPLICA_TIMEOUT_MS: "300",
      DATABASE_TIMEOUT_MS: "1000",
    },
  });
  try {
    await eventually(async () => {
      const response = await shop.app.request("/api/products?limit=5");
      const body = await response.json();
      return response.status === 200 && body.items?.length === 5;
    });

    await t.step("a replica slower than its budget: reads fall back to the primary", async () => {
      cluster.pauseReplica(0);
      try {
        const started = performance.now();
        const response = await shop.app.request("/api/products?limit=5&sort=price_asc");
        const took = performance.now() - started;
        assert.equal(response.status, 200);
        assert.equal((await response.json()).items.length, 5);
        assert.ok(took >= 250 && took < 1500, `answered after ${Math.round(took)} ms`);
      } finally {
        cluster.resumeReplica(0);
      }
    });

    await t.step("a killed replica: reads fall back to the primary", async () => {
      await cluster.killReplica(0);
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const response = await shop.app.request(`/api/products?limit=5&sort=newest&i=${i}`);
        assert.equal(response.status, 200);
        assert.equal((await response.json()).items.length, 5);
        assert.ok(performance.now() - started < 1500, "no request waits past its budget");
      }
    });
  } finally {
    await shop.close();
    await cluster.stop();
  }
});

Deno.test("[replication] a dead primary fails writes fast with 503 + Retry-After; catalog reads stay 200", async () => {
  const cluster = await startSqldCluster({ replicas: 1 });
  const shop = await openTestServices({
    productCount: 50,
    env: {
      DATABASE_URL: cluster.primary.httpUrl,
      DATABASE_READ_URL: cluster.replicas[0].httpUrl,
      DATABASE_TIMEOUT_MS: "1000",
    },
  });
  try {
    const { database } = shop.services;
    await eventually(async () => {
      const [row] = await database.reader.all<{ n: number }>(
        sql`SELECT count(*) AS n FROM products`,
      )
        .catch(() => [{ n: 0 }]);
      return row.n === 50;
    });
    await cluster.killPrimary();

    const started = performance.now();
    await assert.rejects(
      database.writer.update(categories).set({ name: "x" }).where(eq(categories.id, 1)),
      (error: Error) => findUnavailable(error) !== undefined,
    );
    assert.ok(performance.now() - started < 1500, "the write failed within its budget");
    const again = performance.now();
    await assert.rejects(database.writer.run(sql`UPDATE categories SET name = 'y'`));
    assert.ok(performance.now() - again < 50, "while the primary is down, writes fail at once");

    const write = await shop.app.request("/api/auth/register", {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: "http://localhost" },
      body: JSON.stringify({ email: "new@example.com", password: "correct horse battery" }),
    });
    assert.equal(write.status, 503);
    assert.ok(Number(write.headers.get("retry-after")) >= 1);
    assert.equal((await write.json()).error.code, "unavailable");

    for (const path of ["/api/products?limit=5", "/api/categories", "/"]) {
      const response = await shop.app.request(path);
      assert.equal(response.status, 200, path);
      await response.body?.cancel();
    }
  } finally {
    await shop.close();
    await cluster.stop();
  }
});

Deno.test("[replication] no sqld process outlives the tests that started it", async () => {
  const cluster = await startSqldCluster({ replicas: 2 });
  const pids = [cluster.primary.pid, ...cluster.replicas.map((r) => r.pid)];
  const running = await listSqldProcesses();
  assert.ok(pids.every((pid) => running.includes(pid)));
  await cluster.stop();
  const after = await listSqldProcesses();
  assert.deepEqual(pids.filter((pid) => after.includes(pid)), []);
});

function findUnavailable(error: unknown): DatabaseUnavailableError | undefined {
  for (let current = error; current; current = (current as Error).cause) {
    if (current instanceof DatabaseUnavailableError) return current;
  }
  return undefined;
}
