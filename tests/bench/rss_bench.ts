/**
 * Server memory under load: the shop as a subprocess on a fresh DATA_DIR, its VmRSS sampled from
 * /proc/<pid>/status every 250 ms while a load preset (`shop-1000`, or `10k`) runs against it,
 * with the kernel's view beside it once a second (process_probe.ts: glibc heap vs anonymous
 * memory, descriptors, accept queue, ListenOverflows/ListenDrops). Linux only. Not part of
 * `deno task test`:
 *
 *   deno run --allow-all tests/bench/rss_bench.ts [--preset shop-1000|10k] [--stages ...]
 *
 * `deno task bench` runs it with the other macro benchmarks (tests/bench/main.ts).
 */
import { parseStages } from "../load/config.ts";
import { presetOptions, runLoad } from "../load/main.ts";
import type { LoadResult } from "../load/metrics.ts";
import { formatSample, type ProbeSummary, startProbe, summarize } from "./process_probe.ts";
import { registerLoadAccount, startShop } from "./shop_process.ts";

const SAMPLE_MS = 250;
/** How long after the load the process is left alone before the settled sample (the memory
 * releaser looks every 10 s). */
const SETTLE_MS = 25_000;

export interface RssResult {
  preset: string;
  /** Before the load: after start-up (the seed), 10 s of 20 VUs on the same pages, 22 s quiet. */
  startMiB: number;
  peakMiB: number;
  /** Median while the generator held at least half the peak VUs. */
  steadyMiB: number;
  /** 25 s after the load ended (the memory releaser looks every 10 s). */
  settledMiB: number;
  samples: number;
  /** Kernel and process peaks during the load. */
  probe: ProbeSummary;
  load: Pick<
    LoadResult,
    "reqs" | "rps" | "failed" | "failedRate" | "duration" | "vusMax" | "errors" | "generator"
  >;
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

/**
 * Starts a fresh shop, runs `preset` (default `shop-1000`; `stages` overrides its stages) against
 * it and samples its RSS; `onSample` sees each probe line as it comes.
 */
export async function benchShopRss(
  options: { preset?: string; stages?: string; onSample?: (line: string) => void } = {},
): Promise<RssResult> {
  const preset = options.preset ?? "shop-1000";
  const shop = await startShop();
  try {
    await registerLoadAccount(shop.url);
    // "Before the load" is a shop that has had visitors: 20 VUs for 10 s over the same pages the
    // preset visits, so its code is paged in and compiled and its bounded caches (L0 pages,
    // SQLite page caches) hold what the load will ask for. Then the memory releaser's
    // quiet-after-load pass (every 10 s) has had its turn.
    await runLoad(presetOptions(preset, {
      url: shop.url,
      quiet: true,
      stages: parseStages("0s:20,10s:20"),
      thinkMs: [0, 0],
      workers: 0,
    }));
    await new Promise((resolve) => setTimeout(resolve, 22_000));
    const startMiB = await readRssMiB(shop.pid);
    const samples: Array<{ at: number; mib: number }> = [];
    const startedAt = performance.now();
    const sampler = setInterval(() => {
      readRssMiB(shop.pid).then(
        (mib) => samples.push({ at: performance.now() - startedAt, mib }),
        () => {},
      );
    }, SAMPLE_MS);
    const probe = await startProbe(
      shop.pid,
      Number(new URL(shop.url).port),
      1000,
      `${shop.url}/metrics`,
    );
    let printed = 0;
    const printer = setInterval(() => {
      while (printed < probe.samples.length) {
        options.onSample?.(formatSample(probe.samples[printed++]));
      }
    }, 1000);
    let result: LoadResult;
    let probeSamples;
    try {
      const overrides = options.stages ? { stages: parseStages(options.stages) } : {};
      result = await runLoad(presetOptions(preset, { url: shop.url, quiet: true, ...overrides }));
    } finally {
      clearInterval(sampler);
      clearInterval(printer);
      probeSamples = await probe.stop();
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
      probe: summarize(probeSamples),
      load: {
        reqs: result.reqs,
        rps: result.rps,
        failed: result.failed,
        failedRate: result.failedRate,
        duration: result.duration,
        vusMax: result.vusMax,
        errors: result.errors,
        generator: result.generator,
      },
    };
  } finally {
    await shop.stop();
  }
}

/** The result as the lines the CLI prints. */
export function formatShopRss(result: RssResult): string {
  const mib = (n: number) => `${n.toFixed(0)} MiB`;
  const { load, probe } = result;
  const back = (result.settledMiB / result.startMiB - 1) * 100;
  return [
    `shop RSS under ${result.preset} (${result.samples} samples, every ${SAMPLE_MS} ms)`,
    `  after start ${mib(result.startMiB)}   steady ${mib(result.steadyMiB)}   peak ${
      mib(result.peakMiB)
    }   settled ${mib(result.settledMiB)}`,
    `  settled is ${back >= 0 ? "+" : ""}${back.toFixed(1)} % from the start`,
    `  load: ${load.reqs} reqs, ${load.rps.toFixed(1)} req/s, ${load.vusMax} VUs, p50 ${
      load.duration.med.toFixed(1)
    } ms, p95 ${load.duration.p95.toFixed(1)} ms, failed ${(load.failedRate * 100).toFixed(2)}%` +
    (load.errors.length > 0
      ? ` (${load.errors.slice(0, 3).map((e) => `${e.count} ${e.reason}`).join(", ")})`
      : ""),
    `  shop peaks: glibc heap ${probe.peakHeapMiB} MiB, anonymous ${probe.peakAnonMiB} MiB, ` +
    `${probe.peakFds} descriptors, ${probe.peakEstablished} connections, cpu ${probe.peakCpu} cores`,
    `  kernel: accept queue peak ${probe.peakAcceptQueue}/${probe.backlog}, ListenOverflows ` +
    `+${probe.listenOverflows}, ListenDrops +${probe.listenDrops}, SYN queue drops +${probe.synDrops}`,
    `  generator: ${
      load.generator.map((w) =>
        `process ${w.worker} cpu avg ${(w.avgCpu * 100).toFixed(0)} % max ${
          (w.maxCpu * 100).toFixed(0)
        } %, lag max ${w.maxLagMs.toFixed(0)} ms`
      ).join("; ")
    }`,
  ].join("\n");
}

if (import.meta.main) {
  const arg = (name: string) => {
    const index = Deno.args.indexOf(`--${name}`);
    return index >= 0 ? Deno.args[index + 1] : undefined;
  };
  const result = await benchShopRss({
    preset: arg("preset"),
    stages: arg("stages"),
    onSample: (line) => console.error(line),
  });
  console.log(formatShopRss(result));
}
