/**
 * One worker against every core: the same shop under `deno serve serve.ts` and under
 * `deno serve --parallel serve.ts` (DENO_JOBS = cores), each measured with wrk on a cached
 * product page and on the cached catalog API. Not part of `deno task test`:
 *
 *   deno run --allow-all tests/bench/parallel_bench.ts
 *
 * Both runs share one pre-seeded embedded database (2,000 products), so the figures compare
 * request serving, not seeding. wrk runs on the same machine and takes CPU from the workers,
 * so the gain shown is a floor of what separate client machines would see.
 */
import { openDatabase } from "../../db/client.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { seedCatalog } from "../../db/seed.ts";
import { wrk, type WrkResult } from "./cached_page_bench.ts";
import {
  freePort,
  productSlugs,
  RAISED_RATE_LIMITS,
  stopProcess,
  waitForOk,
} from "./shop_process.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

export interface ParallelRow {
  workers: number;
  target: string;
  result: WrkResult;
}

export interface ParallelOptions {
  connections?: number;
  durationSeconds?: number;
}

async function seededDataDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "parallel-bench-" });
  const database = openDatabase({
    url: `file:${dir}/shop.db`,
    syncIntervalSeconds: 1,
    timeoutMs: 10_000,
  });
  try {
    await migrateDatabase(database.writer);
    await seedCatalog(database.writer, { productCount: 2000 });
  } finally {
    database.close();
  }
  return dir;
}

async function measure(
  dataDir: string,
  workers: number,
  wrkArgs: string[],
): Promise<ParallelRow[]> {
  const port = freePort();
  const args = ["serve", ...(workers > 1 ? ["--parallel"] : []), "--unstable-kv", "-A"];
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args, "--port", String(port), "--host", "127.0.0.1", "serve.ts"],
    cwd: ROOT,
    env: {
      DATA_DIR: dataDir,
      SEED_IF_EMPTY: "false",
      LOG_LEVEL: "error",
      DENO_JOBS: String(workers),
      ...RAISED_RATE_LIMITS,
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitForOk(`${url}/healthz`);
    const [slug] = await productSlugs(url, 1);
    const targets = {
      "cached product page": `/p/${slug}`,
      "catalog API": "/api/products?limit=24",
    };
    const rows: ParallelRow[] = [];
    for (const [target, path] of Object.entries(targets)) {
      // Warm every worker's cache: a short wrk run reaches all of them.
      await wrk(["-t2", "-c32", "-d2s"], `${url}${path}`);
      rows.push({ workers, target, result: await wrk(wrkArgs, `${url}${path}`) });
    }
    return rows;
  } finally {
    await stopProcess(child);
  }
}

/** Measures 1 worker, then one worker per core, on the same data. */
export async function benchParallel(options: ParallelOptions = {}): Promise<ParallelRow[]> {
  const wrkArgs = [
    "-t2",
    `-c${options.connections ?? 128}`,
    `-d${options.durationSeconds ?? 10}s`,
    "--latency",
  ];
  const cores = navigator.hardwareConcurrency;
  const dataDir = await seededDataDir();
  try {
    return [
      ...await measure(dataDir, 1, wrkArgs),
      ...await measure(dataDir, Math.max(2, cores), wrkArgs),
    ];
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** The rows as a Markdown table, with the --parallel/1-worker ratio per target. */
export function formatParallel(rows: ParallelRow[], options: ParallelOptions = {}): string {
  const single = new Map(rows.filter((r) => r.workers === 1).map((r) => [r.target, r.result]));
  return [
    `deno serve vs deno serve --parallel, wrk -t2 -c${options.connections ?? 128} ` +
    `-d${
      options.durationSeconds ?? 10
    }s on the same machine, ${navigator.hardwareConcurrency} cores, ` +
    `Deno ${Deno.version.deno}`,
    "",
    "| workers | target | req/s | p99 ms | vs 1 worker | errors |",
    "| ---: | --- | ---: | ---: | ---: | --- |",
    ...rows.map((r) => {
      const base = single.get(r.target)!.requestsPerSecond;
      return `| ${r.workers} | ${r.target} | ${r.result.requestsPerSecond.toFixed(0)} | ` +
        `${r.result.p99Ms.toFixed(1)} | ${(r.result.requestsPerSecond / base).toFixed(2)}× | ` +
        `${r.result.errors} |`;
    }),
  ].join("\n");
}

if (import.meta.main) console.log(formatParallel(await benchParallel()));
