/**
 * Replication benchmark against real sqld processes (not part of `deno task test`):
 * - lag from commit on the primary to visibility on a sqld replica and on an embedded replica,
 *   over 1,000 writes;
 * - point-read latency through an embedded replica, a sqld replica over HTTP, and the primary.
 *
 * Run: deno run -A tests/bench/replication_bench.ts [--writes 1000]
 */
import { type Client, createClient } from "@libsql/client";
import { startSqldCluster } from "../services/sqld.ts";
import { percentile } from "./stats.ts";

const writes = Number(argValue("--writes") ?? 1000);
const writeSpacingMs = 5;
const reads = 2000;

function argValue(name: string): string | undefined {
  const index = Deno.args.indexOf(name);
  return index >= 0 ? Deno.args[index + 1] : undefined;
}

/** Polls `client` for the highest id as fast as it answers, recording when each id appeared. */
function watchVisibility(
  client: Client,
  visibleAt: Float64Array,
  done: () => boolean,
): Promise<void> {
  return (async () => {
    let seen = 0;
    while (!done() || seen < writes) {
      // Poll every millisecond: fine-grained enough for the lag, gentle enough not to starve writes.
      await new Promise((resolve) => setTimeout(resolve, 1));
      const result = await client.execute("SELECT max(id) AS id FROM lag_probe");
      const now = performance.now();
      const max = Number(result.rows[0].id ?? 0);
      for (let id = seen + 1; id <= max; id++) visibleAt[id] = now;
      seen = Math.max(seen, max);
      if (done() && seen >= writes) break;
    }
  })();
}

function summarize(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${label.padEnd(34)} p50 ${percentile(sorted, 50).toFixed(2).padStart(8)} ms   p99 ${
    percentile(sorted, 99).toFixed(2).padStart(8)
  } ms   max ${sorted.at(-1)!.toFixed(2).padStart(8)} ms   (n=${sorted.length})`;
}

const cluster = await startSqldCluster({ replicas: 1 });
const dir = await Deno.makeTempDir({ prefix: "shop-replication-bench-" });
try {
  const primary = createClient({ url: cluster.primary.httpUrl });
  const replica = createClient({ url: cluster.replicas[0].httpUrl });
  await primary.execute("CREATE TABLE lag_probe (id INTEGER PRIMARY KEY, at REAL NOT NULL)");
  await primary.execute("CREATE TABLE kv (id INTEGER PRIMARY KEY, value TEXT NOT NULL)");
  await primary.batch(
    Array.from({ length: 1000 }, (_, i) => ({
      sql: "INSERT INTO kv (id, value) VALUES (?, ?)",
      args: [i + 1, `value-${i + 1}`],
    })),
    "write",
  );
  // An embedded replica syncing on the default interval (1 s).
  const embeddedInterval = createClient({
    url: `file:${dir}/interval.db`,
    syncUrl: cluster.primary.httpUrl,
    syncInterval: 1,
  });
  await embeddedInterval.sync();

  const committedAt = new Float64Array(writes + 1);
  const seenOnSqld = new Float64Array(writes + 1);
  const seenOnInterval = new Float64Array(writes + 1);
  let finished = false;
  const watchers = [
    watchVisibility(replica, seenOnSqld, () => finished),
    watchVisibility(embeddedInterval, seenOnInterval, () => finished),
  ];
  console.log(`writing ${writes} rows to the primary, one every ${writeSpacingMs} ms…`);
  for (let id = 1; id <= writes; id++) {
    await primary.execute({ sql: "INSERT INTO lag_probe (id, at) VALUES (?, ?)", args: [id, 0] });
    committedAt[id] = performance.now();
    await new Promise((resolve) => setTimeout(resolve, writeSpacingMs));
  }
  finished = true;
  await Promise.race([
    Promise.all(watchers),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error("replicas never caught up")), 30_000)
    ),
  ]);

  const lag = (seen: Float64Array) =>
    Array.from({ length: writes }, (_, i) => Math.max(0, seen[i + 1] - committedAt[i + 1]));
  console.log("\nReplication lag, commit on the primary → visible on the reader");
  console.log(summarize("sqld replica (gRPC stream)", lag(seenOnSqld)));
  console.log(summarize("embedded replica, syncInterval 1 s", lag(seenOnInterval)));

  const readers: [string, Client][] = [
    ["embedded replica (local file)", embeddedInterval],
    ["sqld replica over HTTP", replica],
    ["primary over HTTP", primary],
  ];
  console.log(`\nPoint-read latency (${reads} sequential reads by primary key)`);
  for (const [label, client] of readers) {
    for (let i = 0; i < 100; i++) {
      await client.execute({ sql: "SELECT value FROM kv WHERE id = ?", args: [i + 1] });
    }
    const samples: number[] = [];
    for (let i = 0; i < reads; i++) {
      const started = performance.now();
      await client.execute({ sql: "SELECT value FROM kv WHERE id = ?", args: [(i % 1000) + 1] });
      samples.push(performance.now() - started);
    }
    console.log(summarize(label, samples));
  }
  for (const client of [primary, replica, embeddedInterval]) client.close();
} finally {
  await cluster.stop();
  await Deno.remove(dir, { recursive: true });
}
// The embedded replica's background sync thread outlives close(); end the process explicitly.
Deno.exit(0);
