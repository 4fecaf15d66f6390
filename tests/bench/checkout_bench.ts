/**
 * Checkout throughput at saturation and checkout latency, on the embedded database (a libSQL
 * file in WAL mode) and on a sqld primary, each with the shop as its own process. Not part of
 * `deno task test`:
 *
 *   deno run --unstable-kv -A tests/bench/checkout_bench.ts [--carts=4000] [--concurrency=64]
 *
 * For each topology: seed 3,000 products, fill carts through the API (2 lines each, not
 * measured), then check them out — first with 2 clients (latency without queueing), then with
 * `concurrency` clients until the carts run out (throughput at saturation). Every checkout is a
 * real `POST /api/checkout` with its own Idempotency-Key; the outbox worker runs as in
 * production. `deno task bench` runs it with the other macro benchmarks (tests/bench/main.ts).
 */
import { sql } from "drizzle-orm";
import { loadConfig } from "../../edge/platform/config.ts";
import { createLogger } from "../../edge/platform/log.ts";
import { closeServices, openServices } from "../../main.ts";
import { startSqld } from "../services/sqld.ts";
import { freePort, RAISED_RATE_LIMITS, stopProcess, waitForOk } from "./shop_process.ts";
import { percentile } from "./stats.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const SECRET = "checkout-bench-secret-0123456789abcdef";
const SEED_PRODUCTS = 3000;

export interface CheckoutBenchOptions {
  /** Carts checked out at saturation, per topology. */
  carts?: number;
  /** Concurrent clients at saturation. */
  concurrency?: number;
  /** Checkouts measured with 2 clients, per topology. */
  lightCheckouts?: number;
  topologies?: Topology[];
}

export type Topology = "embedded" | "sqld";

export interface LatencyFigures {
  checkouts: number;
  concurrency: number;
  seconds: number;
  ordersPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Answers other than 201, by status and code. */
  refused: Record<string, number>;
  /**
   * CPU time the shop process (and sqld, when used) spent per placed order: a figure a busy
   * machine distorts far less than throughput, since it counts only the time the process ran.
   */
  shopCpuMsPerOrder: number;
  sqldCpuMsPerOrder?: number;
}

export interface CheckoutBenchRow {
  topology: Topology;
  light: LatencyFigures;
  saturated: LatencyFigures;
}

const BODY = JSON.stringify({
  email: "bench@example.com",
  shippingAddress: {
    name: "Bench Shopper",
    line1: "1 Load Street",
    city: "Springfield",
    postalCode: "12345",
    country: "US",
  },
  shippingOption: "standard",
});

/** Seeds a catalog where the shop will find it; returns variant ids with plenty of stock. */
async function seed(env: Record<string, string>): Promise<number[]> {
  const config = loadConfig({ ...env, SEED_IF_EMPTY: "true", OUTBOX_WORKER: "false" });
  const services = await openServices(config, createLogger("error", { write: () => {} }), {
    seedProductCount: SEED_PRODUCTS,
  });
  try {
    const rows = await services.database.writer.all<{ id: number }>(sql`
      SELECT v.id FROM variants v JOIN inventory i ON i.variant_id = v.id
      JOIN products p ON p.id = v.product_id
      WHERE p.is_active = 1 AND i.on_hand >= 60 ORDER BY v.id`);
    return rows.map((row) => row.id);
  } finally {
    await closeServices(services);
  }
}

async function startShopOn(env: Record<string, string>) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "--allow-all", "main.ts"],
    cwd: ROOT,
    env: {
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      LOG_LEVEL: "warn",
      SEED_IF_EMPTY: "false",
      ...RAISED_RATE_LIMITS,
      ...env,
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(`${url}/healthz`);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { url, pid: child.pid, stop: () => stopProcess(child) };
}

/** Runs `task` over `items` with `concurrency` workers. */
async function pool<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await task(items[next++]);
  }));
}

/** Fills `count` carts with 2 lines each; returns their cart cookies. */
async function fillCarts(url: string, variantIds: number[], count: number): Promise<string[]> {
  const cookies: string[] = [];
  await pool(Array.from({ length: count }, (_, i) => i), 32, async (i) => {
    let cookie = "";
    for (const offset of [0, 7]) {
      const variantId = variantIds[(i * 13 + offset) % variantIds.length];
      const response = await fetch(`${url}/api/cart/items`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ variantId, quantity: 1 }),
      });
      await response.body?.cancel();
      if (response.status !== 201) throw new Error(`adding to a cart answered ${response.status}`);
      const cart = response.headers.getSetCookie().find((c) => c.startsWith("cart="));
      if (cart) cookie = cart.split(";")[0];
    }
    cookies.push(cookie);
  });
  return cookies;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

async function checkOutAll(
  url: string,
  carts: string[],
  concurrency: number,
  pids: { shop: number; sqld?: number },
): Promise<LatencyFigures> {
  const cpuBefore = [await cpuSeconds(pids.shop), pids.sqld ? await cpuSeconds(pids.sqld) : 0];
  const latencies: number[] = [];
  const refused: Record<string, number> = {};
  const started = performance.now();
  await pool(carts, concurrency, async (cookie) => {
    const begun = performance.now();
    const response = await fetch(`${url}/api/checkout`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        cookie,
        "idempotency-key": crypto.randomUUID(),
      },
      body: BODY,
    });
    const text = await response.text();
    latencies.push(performance.now() - begun);
    if (response.status !== 201) {
      const key = `${response.status} ${/"code":"(\w+)"/.exec(text)?.[1] ?? ""}`.trim();
      refused[key] = (refused[key] ?? 0) + 1;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const failed = Object.values(refused).reduce((sum, n) => sum + n, 0);
  const placed = Math.max(1, carts.length - failed);
  const shopCpu = await cpuSeconds(pids.shop) - cpuBefore[0];
  const sqldCpu = pids.sqld ? await cpuSeconds(pids.sqld) - cpuBefore[1] : undefined;
  return {
    shopCpuMsPerOrder: shopCpu * 1000 / placed,
    sqldCpuMsPerOrder: sqldCpu === undefined ? undefined : sqldCpu * 1000 / placed,
    checkouts: carts.length,
    concurrency,
    seconds,
    ordersPerSecond: (carts.length - failed) / seconds,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    refused,
  };
}

async function benchTopology(
  topology: Topology,
  options: Required<Omit<CheckoutBenchOptions, "topologies">>,
): Promise<CheckoutBenchRow> {
  const dataDir = await Deno.makeTempDir({ prefix: `bench-checkout-${topology}-` });
  const sqld = topology === "sqld" ? await startSqld() : undefined;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    SHOP_SECRET: SECRET,
    ...(sqld ? { DATABASE_URL: sqld.httpUrl, DATABASE_TIMEOUT_MS: "10000" } : {}),
  };
  let shop: Awaited<ReturnType<typeof startShopOn>> | undefined;
  try {
    const variantIds = await seed(env);
    shop = await startShopOn(env);
    const carts = await fillCarts(shop.url, variantIds, options.lightCheckouts + options.carts);
    const pids = { shop: shop.pid, sqld: sqld?.pid };
    const light = await checkOutAll(shop.url, carts.slice(0, options.lightCheckouts), 2, pids);
    const saturated = await checkOutAll(
      shop.url,
      carts.slice(options.lightCheckouts),
      options.concurrency,
      pids,
    );
    return { topology, light, saturated };
  } finally {
    await shop?.stop();
    await sqld?.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** Runs the checkout benchmark on each topology, one after the other. */
export async function benchCheckout(
  options: CheckoutBenchOptions = {},
): Promise<CheckoutBenchRow[]> {
  const settings = {
    carts: options.carts ?? 4000,
    concurrency: options.concurrency ?? 64,
    lightCheckouts: options.lightCheckouts ?? 300,
  };
  const rows: CheckoutBenchRow[] = [];
  for (const topology of options.topologies ?? ["embedded", "sqld"]) {
    rows.push(await benchTopology(topology, settings));
  }
  return rows;
}

/** The rows as the lines the CLI prints. */
export function formatCheckout(rows: CheckoutBenchRow[]): string {
  const line = (name: string, f: LatencyFigures) =>
    `${name.padEnd(30)} ${f.ordersPerSecond.toFixed(0).padStart(6)} orders/s   p50 ${
      f.p50Ms.toFixed(1).padStart(6)
    } ms   p95 ${f.p95Ms.toFixed(1).padStart(6)} ms   p99 ${f.p99Ms.toFixed(1).padStart(6)} ms` +
    `   CPU/order: shop ${f.shopCpuMsPerOrder.toFixed(2)} ms${
      f.sqldCpuMsPerOrder === undefined ? "" : `, sqld ${f.sqldCpuMsPerOrder.toFixed(2)} ms`
    }` +
    `   (${f.checkouts} checkouts${
      Object.keys(f.refused).length ? `, refused ${JSON.stringify(f.refused)}` : ""
    })`;
  return rows.flatMap((row) => [
    line(`${row.topology}, 2 clients`, row.light),
    line(`${row.topology}, ${row.saturated.concurrency} clients (saturated)`, row.saturated),
  ]).join("\n");
}

function flag(name: string): number | undefined {
  const raw = Deno.args.find((arg) => arg.startsWith(`--${name}=`))?.split("=")[1];
  return raw === undefined ? undefined : Number(raw);
}

if (import.meta.main) {
  const only = Deno.args.find((arg) => arg.startsWith("--topology="))?.split("=")[1];
  console.log(formatCheckout(
    await benchCheckout({
      carts: flag("carts"),
      concurrency: flag("concurrency"),
      lightCheckouts: flag("light"),
      topologies: only ? [only as Topology] : undefined,
    }),
  ));
}
