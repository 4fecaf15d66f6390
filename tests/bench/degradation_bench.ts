/**
 * Graceful degradation, measured: the same overload (the shop scenario at 1,000 VUs with a
 * 0.2–0.5 s think time, 30 s — about ten times the sign-ins this machine can hash) against a
 * fresh shop twice, once with load shedding switched off (limits far out of reach) and once with
 * the defaults. What to read: catalog latencies, how sign-ins fail (fast 503s or slow ones),
 * client timeouts, and peak memory. Linux only. Not part of `deno task test`:
 *
 *   deno run --allow-all tests/bench/degradation_bench.ts
 */
import { parseArgs, runLoad } from "../load/main.ts";
import type { LoadResult } from "../load/metrics.ts";
import { startProbe, summarize } from "./process_probe.ts";
import { registerLoadAccount, startShop } from "./shop_process.ts";

export interface DegradationRun {
  shedding: boolean;
  reqs: number;
  rps: number;
  steps: Array<
    { name: string; reqs: number; failed: number; p50: number; p95: number; p99: number }
  >;
  errors: LoadResult["errors"];
  failedP50: number;
  failedP99: number;
  peakRssMiB: number;
}

/** Limits that never bind: the shop as it behaved before admission control. */
const SHEDDING_OFF = {
  MAX_IN_FLIGHT: "100000",
  SHED_LAG_LOW_MS: "60000",
  SHED_LAG_HIGH_MS: "60000",
  AUTH_HASH_QUEUE: "10000",
  AUTH_HASH_MAX_WAIT_MS: "60000",
};

const LOAD_ARGS = [
  "--scenario",
  "shop",
  "--stages",
  "5s:1000,25s:1000",
  "--think",
  "0.2-0.5",
  "--login-share",
  "0.1",
  "--grace",
  "15s",
  "--timeout",
  "30s",
  "--quiet",
];

async function overload(shedding: boolean): Promise<DegradationRun> {
  const shop = await startShop({ env: shedding ? {} : SHEDDING_OFF });
  try {
    await registerLoadAccount(shop.url);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const probe = await startProbe(shop.pid, Number(new URL(shop.url).port));
    let result: LoadResult;
    try {
      result = await runLoad(parseArgs(["--url", shop.url, ...LOAD_ARGS]));
    } finally {
      await probe.stop();
    }
    return {
      shedding,
      reqs: result.reqs,
      rps: result.rps,
      steps: result.steps.map((s) => ({
        name: s.name,
        reqs: s.reqs,
        failed: s.failed,
        p50: s.med,
        p95: s.p95,
        p99: s.p99,
      })),
      errors: result.errors,
      failedP50: result.failedDuration.med,
      failedP99: result.failedDuration.p99,
      peakRssMiB: summarize(probe.samples).peakRssMiB,
    };
  } finally {
    await shop.stop();
  }
}

/** Runs the overload without and then with shedding. */
export async function benchDegradation(): Promise<DegradationRun[]> {
  return [await overload(false), await overload(true)];
}

/** The result as the lines the CLI prints. */
export function formatDegradation(runs: DegradationRun[]): string {
  const ms = (n: number) => n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(1)} ms`;
  const lines = [`overload: ${LOAD_ARGS.join(" ")}`];
  for (const run of runs) {
    lines.push(
      `shedding ${run.shedding ? "on (defaults)" : "off"}: ${run.reqs} reqs, ${
        run.rps.toFixed(0)
      } req/s, peak RSS ${run.peakRssMiB} MiB; failures ${
        run.errors.map((e) => `${e.count} ${e.reason}`).join(", ") || "none"
      }, answered in p50 ${ms(run.failedP50)} / p99 ${ms(run.failedP99)}`,
    );
    for (const step of run.steps) {
      lines.push(
        `  ${step.name.padEnd(9)} ${String(step.reqs).padStart(7)} reqs ${
          String(step.failed).padStart(6)
        } failed  p50 ${ms(step.p50).padStart(9)}  p95 ${ms(step.p95).padStart(9)}  p99 ${
          ms(step.p99).padStart(9)
        }`,
      );
    }
  }
  return lines.join("\n");
}

if (import.meta.main) console.log(formatDegradation(await benchDegradation()));
