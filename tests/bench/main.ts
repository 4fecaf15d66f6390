/**
 * `deno task bench`: the macro benchmarks, one after another in one invocation, so the figures
 * and ratios printed come from the same run on the same machine state.
 *
 *   deno task bench [--only cached,login,rss,ttfb,checkout] [--json .tmp/bench/bench.json]
 *
 * - cached: cached product page vs bare `Deno.serve` hello world under wrk (cached_page_bench.ts)
 * - login:  catalog p99 and event-loop lag during a login storm, argon2id vs bcryptjs-12
 *           (login_storm_bench.ts)
 * - rss:    shop RSS while the load tool's shop-1000 preset runs against it (rss_bench.ts)
 * - ttfb:   cold vs warm product page time to first byte (ttfb_bench.ts)
 * - checkout: checkout throughput at saturation and checkout latency, on the embedded database
 *           and on a sqld primary (checkout_bench.ts)
 *
 * Each benchmark starts and stops its own servers; they never overlap. The replication benchmark
 * needs sqld and stays separate (replication_bench.ts).
 */
import { benchCachedPage, formatCachedPage } from "./cached_page_bench.ts";
import { benchCheckout, formatCheckout } from "./checkout_bench.ts";
import { benchLoginStorm, formatLoginStorm } from "./login_storm_bench.ts";
import { benchShopRss, formatShopRss } from "./rss_bench.ts";
import { benchTtfb, formatTtfb } from "./ttfb_bench.ts";

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
    title: "catalog during a login storm, argon2id vs bcryptjs-12",
    async run() {
      const rows = await benchLoginStorm();
      return { text: formatLoginStorm(rows), result: rows };
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
