/**
 * Server memory under load: the shop as a subprocess on a fresh DATA_DIR, its VmRSS sampled from
 * /proc/<pid>/status every 250 ms while the load tool's `shop-1000` preset runs against it.
 * Linux only. Not part of `deno task test`:
 *
 *   deno run --allow-all tests/bench/rss_bench.ts [--preset shop-1000]
 *
 * `deno task bench` runs it with the other macro benchmarks (tests/bench/main.ts).
 */
import { presetOptions, runLoad } from "../load/main.ts";
import type { LoadResult } from "../load/metrics.ts";
import { registerLoadAccount, startShop } from "./shop_process.ts";

const SAMPLE_MS = 250;
/** How long after the load the process is left alone before the settled sample. */
const SETTLE_MS = 10_000;

export interface RssResult {
  preset: string;
  /** 2 s after start-up, before any load; still holds the seed run's garbage on a fresh DATA_DIR. */
  startMiB: number;
  peakMiB: number;
  /** Median while the generator held at least half the peak VUs. */
  steadyMiB: number;
  /** 10 s after the load ended. */
  settledMiB: number;
  samples: number;
  load: Pick<LoadResult, "reqs" | "rps" | "failed" | "failedRate" | "duration" | "vusMax">;
}

/** VmRSS of `pid` in MiB, from /proc. */
export async function readRssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`No VmRSS in "/proc/${pid}/status"`);
  return kb / 1024;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Starts a fresh shop, runs `preset` (default `shop-1000`) against it and samples its RSS. */
export async function benchShopRss(options: { preset?: string } = {}): Promise<RssResult> {
  const preset = options.preset ?? "shop-1000";
  const shop = await startShop();
  try {
    await registerLoadAccount(shop.url);
    // Let the registration's password hash and start-up work finish before the first sample.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const startMiB = await readRssMiB(shop.pid);
    const samples: Array<{ at: number; mib: number }> = [];
    const startedAt = performance.now();
    const sampler = setInterval(() => {
      readRssMiB(shop.pid).then(
        (mib) => samples.push({ at: performance.now() - startedAt, mib }),
        () => {},
      );
    }, SAMPLE_MS);
    let result: LoadResult;
    try {
      result = await runLoad(presetOptions(preset, { url: shop.url, quiet: true }), {});
    } finally {
      clearInterval(sampler);
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const settledMiB = await readRssMiB(shop.pid);
    // Seconds of the run in which the generator held at least half the peak VUs.
    const busySeconds = new Set(
      result.series.filter((point) => point.vus >= result.vusMax / 2).map((point) => point.t),
    );
    const steady = samples.filter((s) => busySeconds.has(Math.floor(s.at / 1000)));
    return {
      preset,
      startMiB,
      peakMiB: Math.max(startMiB, ...samples.map((s) => s.mib)),
      steadyMiB: median(steady.map((s) => s.mib)),
      settledMiB,
      samples: samples.length,
      load: {
        reqs: result.reqs,
        rps: result.rps,
        failed: result.failed,
        failedRate: result.failedRate,
        duration: result.duration,
        vusMax: result.vusMax,
      },
    };
  } finally {
    await shop.stop();
  }
}

/** The result as the lines the CLI prints. */
export function formatShopRss(result: RssResult): string {
  const mib = (n: number) => `${n.toFixed(0)} MiB`;
  const { load } = result;
  return [
    `shop RSS under ${result.preset} (${result.samples} samples, every ${SAMPLE_MS} ms)`,
    `  after start ${mib(result.startMiB)}   steady ${mib(result.steadyMiB)}   peak ${
      mib(result.peakMiB)
    }   settled ${mib(result.settledMiB)}`,
    `  load: ${load.reqs} reqs, ${load.rps.toFixed(1)} req/s, ${load.vusMax} VUs, p50 ${
      load.duration.med.toFixed(1)
    } ms, p95 ${load.duration.p95.toFixed(1)} ms, failed ${(load.failedRate * 100).toFixed(2)}%`,
  ].join("\n");
}

if (import.meta.main) {
  const index = Deno.args.indexOf("--preset");
  const preset = index >= 0 ? Deno.args[index + 1] : undefined;
  console.log(formatShopRss(await benchShopRss({ preset })));
}
