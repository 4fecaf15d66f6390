/**
 * Runs a load test: setup discovery, then the VUs in N generator subprocesses (or in this
 * process when `workers` is 0), merging their per-second messages into one result.
 *
 * Protocol over pipes, one JSON object per line: the coordinator writes the plan to a
 * worker's stdin, the worker answers `ready`; once all are ready the coordinator writes
 * `{type:"start", at}` so every process shares the same clock origin; the worker then
 * streams `bucket`/`note` messages to stdout and ends with `done`. `{type:"stop"}` on
 * stdin ends the stages early (Ctrl-C).
 */

import process from "node:process";
import { readLines } from "../tools/lines.ts";
import type { LoadOptions } from "./config.ts";
import { Aggregate, type LoadResult, type WorkerMessage } from "./metrics.ts";
import { discover } from "./steps.ts";
import { runWorker, type WorkerPlan } from "./vu_runner.ts";

export interface RunHooks {
  /** Called about once a second with the latest complete second. */
  onProgress?: (line: string) => void;
  /** Aborting ends the stages early; VUs then get the usual stop grace. */
  signal?: AbortSignal;
}

const MAIN_URL = new URL("./main.ts", import.meta.url).href;
const START_DELAY_MS = 200;

interface WorkerHandle {
  ready: Promise<void>;
  start(at: number): void;
  stop(): void;
  finished: Promise<void>;
}

function spawnProcess(plan: WorkerPlan, onMessage: (m: WorkerMessage) => void): WorkerHandle {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-net", MAIN_URL, "--worker-mode"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  const send = (message: unknown) =>
    writer.write(encoder.encode(JSON.stringify(message) + "\n")).catch(() => {});
  let markReady = () => {};
  const ready = new Promise<void>((resolve) => markReady = resolve);
  const finished = (async () => {
    await send(plan);
    for await (const line of readLines(child.stdout)) {
      const message = JSON.parse(line) as WorkerMessage;
      if (message.type === "ready") markReady();
      else onMessage(message);
    }
    const status = await child.status;
    await writer.close().catch(() => {});
    if (!status.success) {
      throw new Error(`Generator process ${plan.worker} exited with code ${status.code}`);
    }
  })();
  // A worker that dies before "ready" must not hang the run.
  finished.catch(() => {}).finally(markReady);
  return {
    ready,
    start: (at) => void send({ type: "start", at }),
    stop: () => void send({ type: "stop" }),
    finished,
  };
}

function inline(plan: WorkerPlan, onMessage: (m: WorkerMessage) => void): WorkerHandle {
  const stop = new AbortController();
  let begin: (at: number) => void = () => {};
  const startAt = new Promise<number>((resolve) => begin = resolve);
  return {
    ready: Promise.resolve(),
    start: begin,
    stop: () => stop.abort(),
    finished: startAt.then((at) => runWorker(plan, onMessage, { startAt: at, stop: stop.signal })),
  };
}

/** Runs the stages against `options.url` and resolves with the merged result. */
export async function runLoad(options: LoadOptions, hooks: RunHooks = {}): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage();
  // The home scenario needs no setup, exactly like the published script.
  const discovery = options.scenario === "home" || options.scenario === "path"
    ? { categories: [], products: [], words: [], variants: [], notes: [] }
    : await discover(options.url, options.requestTimeoutMs, {
      variants: options.scenario === "buy",
    });
  const aggregate = new Aggregate(options);
  for (const note of discovery.notes) aggregate.note(note);

  const count = Math.max(1, options.workers);
  const handles: WorkerHandle[] = [];
  for (let worker = 0; worker < count; worker++) {
    const plan: WorkerPlan = { options, discovery, worker, workers: count };
    const onMessage = (message: WorkerMessage) => aggregate.add(message);
    handles.push(options.workers === 0 ? inline(plan, onMessage) : spawnProcess(plan, onMessage));
  }
  await Promise.all(handles.map((h) => h.ready));
  const startedAt = new Date(Date.now() + START_DELAY_MS);
  for (const handle of handles) handle.start(startedAt.getTime());

  const stopAll = () => handles.forEach((h) => h.stop());
  hooks.signal?.addEventListener("abort", stopAll, { once: true });
  let progress: ReturnType<typeof setInterval> | undefined;
  if (hooks.onProgress) {
    const report = hooks.onProgress;
    progress = setInterval(() => {
      const last = aggregate.latest();
      if (!last) return;
      const rate = last.reqs ? (100 * last.failed / last.reqs).toFixed(1) : "0.0";
      report(
        `t=${last.t}s  vus=${last.vus}  req/s=${last.reqs}  p95=${
          Math.round(last.p95)
        }ms  failed=${rate}%`,
      );
    }, 1000);
  }
  const settled = await Promise.allSettled(handles.map((h) => h.finished));
  clearInterval(progress);
  hooks.signal?.removeEventListener("abort", stopAll);
  for (const result of settled) {
    if (result.status === "rejected") {
      aggregate.note(String(result.reason?.message ?? result.reason));
    }
  }
  const cpuAfter = process.cpuUsage();
  const durationS = (Date.now() - startedAt.getTime()) / 1000;
  const cpuMs = (cpuAfter.user - cpuBefore.user + cpuAfter.system - cpuBefore.system) / 1000;
  return aggregate.finish({
    startedAt,
    durationS,
    coordinatorCpu: cpuMs / 1000 / Math.max(durationS, 0.001),
  });
}
