import assert from "node:assert/strict";
import { type Client, createClient } from "@libsql/client";
import { listSqldProcesses, type SqldCluster, startSqldCluster } from "./sqld.ts";

const VISIBLE_WITHIN_MS = 5_000;

async function withCluster(
  replicas: number,
  fn: (cluster: SqldCluster, primary: Client) => Promise<void>,
): Promise<void> {
  const cluster = await startSqldCluster({ replicas });
  const primary = createClient({ url: cluster.primary.httpUrl });
  try {
    await primary.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)");
    // The schema replicates like any write; start every test from a replicated table.
    await Promise.all(cluster.replicas.map((r) => waitForCount(r.httpUrl, 0)));
    await fn(cluster, primary);
  } finally {
    primary.close();
    await cluster.stop();
  }
}

/**
 * Reads `COUNT(*)` over Hrana HTTP; `undefined` while the table has not replicated yet or when
 * there is no answer within `timeoutMs` (a paused node).
 */
async function countItems(httpUrl: string, timeoutMs = 1_000): Promise<number | undefined> {
  try {
    const res = await fetch(`${httpUrl}/v2/pipeline`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        requests: [{ type: "execute", stmt: { sql: "SELECT COUNT(*) FROM items" } }, {
          type: "close",
        }],
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.json();
    const result = body.results[0];
    if (result.type === "error" && /no such table/.test(result.error.message)) return undefined;
    if (result.type !== "ok") throw new Error(`Query failed: ${JSON.stringify(result)}`);
    return Number(result.response.result.rows[0][0].value);
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") return undefined;
    throw error;
  }
}

/** Polls until `httpUrl` has at least `count` items; returns how long that took in ms. */
async function waitForCount(httpUrl: string, count: number): Promise<number> {
  const start = performance.now();
  let last: number | undefined;
  while (performance.now() - start < VISIBLE_WITHIN_MS) {
    last = await countItems(httpUrl);
    if (last !== undefined && last >= count) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(
    `"${httpUrl}" had ${last} items, not ${count}, after ${VISIBLE_WITHIN_MS} ms`,
  );
}

function insertItems(db: Client, from: number, count: number) {
  return db.batch(
    Array.from({ length: count }, (_, i) => ({
      sql: "INSERT INTO items (id, label) VALUES (?, ?)",
      args: [from + i, `item-${from + i}`],
    })),
    "write",
  );
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

Deno.test("[sqld] a write on the primary becomes visible on each replica", async () => {
  await withCluster(2, async (cluster, primary) => {
    const lags: number[] = [];
    for (let round = 1; round <= 10; round++) {
      await insertItems(primary, round, 1);
      const roundLags = await Promise.all(
        cluster.replicas.map((r) => waitForCount(r.httpUrl, round)),
      );
      lags.push(...roundLags);
    }
    // waitForCount fails the test when a write is not visible in time; the end state is exact.
    for (const replica of cluster.replicas) assert.equal(await countItems(replica.httpUrl), 10);
    lags.sort((a, b) => a - b);
    console.log(
      `replication lag over ${lags.length} reads: median ${formatMs(lags[lags.length >> 1])}, max ${
        formatMs(lags.at(-1)!)
      }`,
    );
  });
});

Deno.test("[sqld] a paused replica lags and catches up after resume", async () => {
  await withCluster(2, async (cluster, primary) => {
    const [paused, live] = cluster.replicas;
    await insertItems(primary, 1, 1);
    await waitForCount(paused.httpUrl, 1);

    cluster.pauseReplica(0);
    try {
      await insertItems(primary, 2, 50);
      await waitForCount(live.httpUrl, 51);
      // A stopped process does not answer at all: clients see a slow node, not stale rows.
      assert.equal(await countItems(paused.httpUrl, 200), undefined);
    } finally {
      cluster.resumeReplica(0);
    }
    const catchUp = await waitForCount(paused.httpUrl, 51);
    console.log(`paused replica caught up ${formatMs(catchUp)} after resume`);
  });
});

Deno.test(
  "[sqld] an embedded replica (@libsql/client file: url + syncUrl) sees primary writes",
  async () => {
    await withCluster(0, async (cluster, primary) => {
      const dir = await Deno.makeTempDir({ prefix: "embedded-replica-" });
      const embedded = createClient({
        url: `file:${dir}/local.db`,
        syncUrl: cluster.primary.httpUrl,
      });
      try {
        await insertItems(primary, 1, 3);
        await embedded.sync();
        assert.equal((await embedded.execute("SELECT COUNT(*) AS n FROM items")).rows[0].n, 3);

        // Without a sync the local file stays behind; sync() pulls only what is new.
        await insertItems(primary, 4, 2);
        assert.equal((await embedded.execute("SELECT COUNT(*) AS n FROM items")).rows[0].n, 3);
        await embedded.sync();
        assert.equal((await embedded.execute("SELECT COUNT(*) AS n FROM items")).rows[0].n, 5);
      } finally {
        embedded.close();
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
);

Deno.test("[sqld] writes through a replica's HTTP endpoint are forwarded to the primary", async (t) => {
  // Finding (sqld 0.24): a replica forwards writes to the primary over gRPC and answers after the
  // primary committed. Only the same Hrana stream (a batch or transaction) is guaranteed to read
  // its own write on that replica; a later, separate statement may still read the old state.
  await withCluster(2, async (cluster, primary) => {
    const viaReplica = createClient({ url: cluster.replicas[0].httpUrl });
    try {
      await t.step("the write is committed on the primary when the replica answers", async () => {
        const [insert] = await insertItems(viaReplica, 1, 1);
        assert.equal(insert.rowsAffected, 1);
        const rows = (await primary.execute("SELECT label FROM items")).rows;
        assert.deepEqual(rows.map((r) => r.label), ["item-1"]);
      });

      await t.step("a batch on the replica reads its own forwarded write", async () => {
        const [, count] = await viaReplica.batch([
          { sql: "INSERT INTO items (id, label) VALUES (?, ?)", args: [2, "item-2"] },
          "SELECT COUNT(*) AS n FROM items",
        ], "write");
        assert.equal(count.rows[0].n, 2);
      });

      await t.step("the write replicates to every replica", async () => {
        await Promise.all(cluster.replicas.map((r) => waitForCount(r.httpUrl, 2)));
      });
    } finally {
      viaReplica.close();
    }
  });
});

Deno.test("[sqld] stop() leaves no sqld process behind", async () => {
  const cluster = await startSqldCluster({ replicas: 2 });
  const pids = [cluster.primary.pid, ...cluster.replicas.map((r) => r.pid)];
  // Other test files may run their own sqld in parallel, so only this cluster's pids count.
  const running = await listSqldProcesses();
  assert.ok(pids.every((pid) => running.includes(pid)), "listSqldProcesses() sees the cluster");

  cluster.pauseReplica(1); // a stopped process must still be shut down
  await cluster.stop();
  await cluster.stop();

  const left = (await listSqldProcesses()).filter((pid) => pids.includes(pid));
  assert.deepEqual(left, []);
  for (const { dataDir } of [cluster.primary, ...cluster.replicas]) {
    await assert.rejects(Deno.stat(dataDir), Deno.errors.NotFound);
  }
});
