/**
 * `deno task bench`: the macro benchmarks, one after another in one invocation, so the figures
 * and ratios printed come from the same run on the same machine state.
 *
 *   deno task bench [--only cached,login,parallel,regions,rss,ttfb,connections,generator,
 *                   degradation,rss10k,checkout] [--json .tmp/bench/bench.json]
 *
 * - cached: cached product page vs bare `Deno.serve` hello world under wrk (cached_page_bench.ts)
 * - login:  one argon2id hash, native addon vs WebAssembly in a worker; then catalog p99,
 *           logins/s and event-loop lag during a login storm, argon2id native vs argon2id wasm
 *           (the edge entry's hasher) vs bcryptjs-12 (login_storm_bench.ts)
 * - parallel: `deno serve` with one worker vs `--parallel` (one per core) under wrk
 *           (parallel_bench.ts)
 * - rss:    shop RSS while the load tool's shop-1000 preset runs against it (rss_bench.ts)
 * - ttfb:   cold vs warm product page time to first byte (ttfb_bench.ts)
 * - regions: per region, TTFB, replication lag, invalidation propagation and the share served
 *           without crossing a region, with an edge and replica per region vs one origin edge
 *           over the same simulated distance (regions_bench.ts; chart in .tmp/bench/regions.svg)
 * - connections: shop RSS with 1k, 5k and 10k open keep-alive connections, and after
 *           (connections_bench.ts)
 * - generator: the load tool against `hey` at the same concurrency, and its CPU per request
 *           (generator_bench.ts)
 * - degradation: one overload with load shedding off and on (degradation_bench.ts)
 * - rss10k: peak shop RSS and kernel counters during the `10k` preset (rss_bench.ts; ~5 min)
 * - checkout: checkout throughput at saturation and checkout latency, on the embedded database
 *           and on a sqld primary (checkout_bench.ts)
 *
 * Each benchmark starts and stops its own servers; they never overlap. The replication benchmark
 * needs sqld and stays separate (replication_bench.ts).
 */
import { benchCachedPage, formatCachedPage } from "./cached_page_bench.ts";
import {
  benchHashTime,
  benchLoginStorm,
  formatHashTime,
  formatLoginStorm,
} from "./login_storm_bench.ts";
import { benchParallel, formatParallel } from "./parallel_bench.ts";
import { benchCheckout, formatCheckout } from "./checkout_bench.ts";
import { benchShopRss, formatShopRss } from "./rss_bench.ts";
import { benchTtfb, formatTtfb } from "./ttfb_bench.ts";
import { benchRegions, formatRegions } from "./regions_bench.ts";
import { renderRegionsChart } from "./regions_chart.ts";
import { benchConnections, formatConnections } from "./connections_bench.ts";
import { benchDegradation, formatDegradation } from "./degradation_bench.ts";
import { benchGenerator, formatGenerator } from "./generator_bench.ts";

interface Benchmark {
  title: string;
  run(): Promise<{ text: string; result: unknown }>;
}

const BENCHMARKS: Record<string, Benchmark> = {
  cached: {
    title: "cached product page vs hello world (wrk, 256 connections)",
    async run() {
      const result = await benchCachedPage();
      return { text: formatCachedPage(result), result };
    },
  },
  login: {
    title: "argon2id native vs wasm: hash time, and the catalog during a login storm",
    async run() {
      const hashTime = await benchHashTime();
      const storm = await benchLoginStorm();
      return {
        text: `${formatHashTime(hashTime)}\n\n${formatLoginStorm(storm)}`,
        result: { hashTime, storm },
      };
    },
  },
  parallel: {
    title: "deno serve: one worker vs --parallel (one per core)",
    async run() {
      const rows = await benchParallel();
      return { text: formatParallel(rows), result: rows };
    },
  },
  rss: {
    title: "shop RSS under the shop-1000 load preset",
    async run() {
      const result = await benchShopRss();
      return { text: formatShopRss(result), result };
    },
  },
  ttfb: {
    title: "cold vs warm product page TTFB",
    async run() {
      const result = await benchTtfb();
      return { text: formatTtfb(result), result };
    },
  },
  regions: {
    title: "regions: edge and replica per region vs one origin edge, over simulated distance",
    async run() {
      const result = await benchRegions();
      const chart = ".tmp/bench/regions.svg";
      await Deno.mkdir(".tmp/bench", { recursive: true });
      await Deno.writeTextFile(chart, renderRegionsChart(result));
      return { text: `${formatRegions(result)}\nchart: ${chart}`, result };
    },
  },
  connections: {
    title: "shop RSS with 1k, 5k and 10k open keep-alive connections",
    async run() {
      const result = await benchConnections();
      return { text: formatConnections(result), result };
    },
  },
  generator: {
    title: "the load tool against hey on one cached page, and its CPU per request",
    async run() {
      const result = await benchGenerator();
      return { text: formatGenerator(result), result };
    },
  },
  degradation: {
    title: "one overload with load shedding off and on",
    async run() {
      const runs = await benchDegradation();
      return { text: formatDegradation(runs), result: runs };
    },
  },
  rss10k: {
    title: "peak shop RSS and kernel counters during the 10k preset",
    async run() {
      const result = await benchShopRss({ preset: "10k" });
      return { text: formatShopRss(result), result };
    },
  },
  checkout: {
    title: "checkout throughput at saturation and latency, embedded database and sqld primary",
    async run() {
      const rows = await benchCheckout();
      return { text: formatCheckout(rows), result: rows };
    },
  },
};

const USAGE = `Usage: deno task bench [--only ${Object.keys(BENCHMARKS).join(",")}] [--json PATH]`;

function parseArgs(args: string[]): { only: string[]; jsonPath?: string } {
  let only = Object.keys(BENCHMARKS);
  let jsonPath: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => inline ?? args[++i];
    if (name === "--only") {
      only = (value() ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      const unknown = only.find((key) => !(key in BENCHMARKS));
      if (unknown !== undefined || only.length === 0) {
        throw new RangeError(`Unknown benchmark "${unknown ?? ""}" in --only`);
      }
    } else if (name === "--json") {
      jsonPath = value();
      if (!jsonPath) throw new RangeError(`Missing value for "--json"`);
    } else {
      throw new RangeError(`Unknown argument "${args[i]}"`);
    }
  }
  // Run in the canonical order whatever order --only listed them in.
  return { only: Object.keys(BENCHMARKS).filter((key) => only.includes(key)), jsonPath };
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(args);
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  console.log(
    `deno task bench: ${options.only.join(", ")} — ${navigator.hardwareConcurrency} cores, ` +
      `Deno ${Deno.version.deno}, ${Deno.build.os}, ${new Date().toISOString()}`,
  );
  const results: Record<string, unknown> = {};
  for (const key of options.only) {
    const benchmark = BENCHMARKS[key];
    const started = performance.now();
    console.log(`\n## ${key}: ${benchmark.title}\n`);
    const { text, result } = await benchmark.run();
    results[key] = result;
    console.log(text);
    console.log(`(${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  if (options.jsonPath) {
    await Deno.mkdir(options.jsonPath.replace(/[^/]*$/, "") || ".", { recursive: true });
    await Deno.writeTextFile(options.jsonPath, JSON.stringify(results, null, 2));
    console.log(`\nwrote ${options.jsonPath}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
