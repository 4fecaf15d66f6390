/**
 * The long fault suite: the same faults as tests/fault/fault_test.ts (sqld primary and replica,
 * Redis behind the Upstash gateway: each killed then restarted, paused then resumed; then SIGTERM
 * of the shop with requests in flight), each held longer under more load, and the table of what
 * the load saw during each phase.
 *
 *   deno run -A --unstable-kv tests/bench/fault_bench.ts [--fault-ms 10000] [--readers 16] [--write]
 *
 * `--write` replaces the table in BENCHMARKS.md (between the fault-suite markers).
 */
import { type FaultReport, formatTable, runFaultSuite } from "../fault/suite.ts";

const BENCHMARKS = new URL("../../BENCHMARKS.md", import.meta.url);
const START = "<!-- fault-suite:start -->";
const END = "<!-- fault-suite:end -->";

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  if (index === -1) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${name} needs a positive whole number, got "${args[index + 1]}"`);
  }
  return value;
}

/** The Markdown section BENCHMARKS.md carries for one run. */
export function formatSection(
  report: FaultReport,
  run: { faultMs: number; readers: number; productCount: number; command: string },
): string {
  const { drain } = report;
  return [
    START,
    `Measured ${new Date().toISOString().slice(0, 10)} with \`${run.command}\`: ` +
    `${run.readers} concurrent readers and one admin writer against the shop (a subprocess), ` +
    `a sqld primary with two replicas (the shop reads from the first), Redis behind the Upstash ` +
    `gateway; ${run.productCount} products; each fault held ${run.faultMs / 1000} s. ` +
    `"no answer" counts requests that got no HTTP answer at all.`,
    "",
    formatTable(report),
    "",
    `- Acknowledged writes: ${report.acknowledgedWrites}; lost after the faults: ` +
    `${report.lostWrites.length}.`,
    `- SIGTERM: ${drain.completed} of ${drain.inFlight} in-flight requests answered ` +
    `(${drain.statuses.join(", ")}), exit code ${drain.exitCode}, ${drain.ms} ms from the signal ` +
    `to exit; the readers' later requests found the listener closed.`,
    END,
  ].join("\n");
}

async function main(args: string[]): Promise<void> {
  const run = {
    faultMs: option(args, "--fault-ms", 10_000),
    readers: option(args, "--readers", 16),
    productCount: option(args, "--products", 1000),
    command: `deno run -A --unstable-kv tests/bench/fault_bench.ts ${args.join(" ")}`.trim(),
  };
  console.log(
    `fault suite: ${run.readers} readers, faults of ${run.faultMs} ms, ${run.productCount} ` +
      `products — ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
  );
  const report = await runFaultSuite({ ...run, log: (line) => console.log(line) });
  const section = formatSection(report, run);
  console.log(`\n${section}`);
  if (args.includes("--write")) {
    const text = await Deno.readTextFile(BENCHMARKS);
    const start = text.indexOf(START);
    const end = text.indexOf(END);
    if (start === -1 || end === -1) throw new Error(`BENCHMARKS.md has no ${START} section`);
    await Deno.writeTextFile(
      BENCHMARKS,
      text.slice(0, start) + section + text.slice(end + END.length),
    );
    // The table's column widths are deno fmt's business, so the file stays `deno fmt --check` clean.
    await new Deno.Command(Deno.execPath(), { args: ["fmt", BENCHMARKS.pathname] }).output();
    console.log("wrote BENCHMARKS.md");
  }
  if (report.lostWrites.length > 0 || drain(report)) Deno.exitCode = 1;
}

/** True when SIGTERM cut off a request it should have let finish. */
function drain(report: FaultReport): boolean {
  return report.drain.completed !== report.drain.inFlight || report.drain.exitCode !== 0;
}

if (import.meta.main) await main(Deno.args);
