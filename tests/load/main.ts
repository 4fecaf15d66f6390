/**
 * `deno task load`: a k6-like closed-model load generator.
 *
 * deno run --allow-net --allow-read --allow-write --allow-run tests/load/main.ts \
 *   --preset seed-1000 --url http://localhost:8000
 *
 * Exit codes like k6: 0 passed, 99 a threshold failed, 1 bad flags or a crashed run.
 * With `--worker-mode` this file is a generator process driven over stdin/stdout
 * (see coordinator.ts); users never pass that flag.
 */

import { readLines } from "../tools/lines.ts";
import { type LoadOptions, parseArgs, USAGE } from "./config.ts";
import { runLoad } from "./coordinator.ts";
import type { LoadResult, WorkerMessage } from "./metrics.ts";
import { renderReport } from "./report_html.ts";
import { formatSummary } from "./summary.ts";
import { runWorker, type WorkerPlan } from "./vu_runner.ts";

export { runLoad } from "./coordinator.ts";
export { parseArgs, presetOptions } from "./config.ts";
export type { LoadResult } from "./metrics.ts";

export const THRESHOLD_FAILED_EXIT = 99;

async function writeFileEnsuringDir(path: string, text: string): Promise<void> {
  const dir = path.replace(/[^/]*$/, "");
  if (dir) await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(path, text);
}

/** Writes the HTML report and optional JSON; returns the paths written. */
export async function writeOutputs(result: LoadResult, options: LoadOptions): Promise<string[]> {
  const reportPath = options.reportPath ?? `.tmp/load/report-${options.preset}.html`;
  await writeFileEnsuringDir(reportPath, renderReport(result));
  const written = [reportPath];
  if (options.jsonPath) {
    await writeFileEnsuringDir(options.jsonPath, JSON.stringify(result, null, 2));
    written.push(options.jsonPath);
  }
  return written;
}

async function cli(args: string[]): Promise<number> {
  let options: LoadOptions;
  try {
    if (args.includes("--help")) {
      console.log(USAGE);
      return 0;
    }
    options = parseArgs(args);
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const color = Deno.stdout.isTerminal();
  const stop = new AbortController();
  const onSigint = () => {
    console.error("\nStopping: VUs finish their iteration (press Ctrl-C again to abort)");
    stop.abort();
    Deno.removeSignalListener("SIGINT", onSigint);
  };
  Deno.addSignalListener("SIGINT", onSigint);
  console.error(
    `load: ${options.preset} → ${options.url} (${options.workers || 1} generator process(es))`,
  );
  const result = await runLoad(options, {
    signal: stop.signal,
    onProgress: options.quiet ? undefined : (line) => console.error(`  ${line}`),
  });
  Deno.removeSignalListener("SIGINT", onSigint);
  console.log(formatSummary(result, { color }));
  for (const path of await writeOutputs(result, options)) console.log(`  wrote ${path}`);
  return result.passed ? 0 : THRESHOLD_FAILED_EXIT;
}

/** Generator-process mode: plan and start from stdin, metrics to stdout as JSON lines. */
async function workerMode(): Promise<void> {
  // The coordinator decides when to stop; Ctrl-C reaches it and is forwarded as "stop".
  Deno.addSignalListener("SIGINT", () => {});
  const encoder = new TextEncoder();
  const emit = (message: WorkerMessage) => {
    const bytes = encoder.encode(JSON.stringify(message) + "\n");
    let written = 0;
    while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
  };
  const stop = new AbortController();
  let plan: WorkerPlan | undefined;
  let started: Promise<void> | undefined;
  for await (const line of readLines(Deno.stdin.readable)) {
    const message = JSON.parse(line);
    if (!plan) {
      plan = message as WorkerPlan;
      emit({ type: "ready", worker: plan.worker });
    } else if (message.type === "start" && !started) {
      started = runWorker(plan, emit, { startAt: message.at, stop: stop.signal });
      // Exit when done even though stdin stays open.
      started.then(() => Deno.exit(0), (error) => {
        console.error(error);
        Deno.exit(1);
      });
    } else if (message.type === "stop") {
      stop.abort();
    }
  }
  // stdin closed: the coordinator is gone; finish gracefully.
  stop.abort();
  await started;
}

if (import.meta.main) {
  if (Deno.args[0] === "--worker-mode") await workerMode();
  else Deno.exit(await cli(Deno.args));
}
