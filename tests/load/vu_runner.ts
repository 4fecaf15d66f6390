/**
 * Closed-model virtual users, like k6's `ramping-vus` executor, for one generator process.
 *
 * Every process computes the global target from the same stages and clock and runs its
 * own share of it, so N processes together follow the stages exactly. A VU loops:
 * steps, then a uniform think time. When the target drops, the newest VUs stop after
 * their current iteration; one still busy after the ramp-down grace is interrupted.
 */

import { type LoadOptions, targetAt, totalDuration } from "./config.ts";
import { SecondRecorder, type WorkerMessage } from "./metrics.ts";
import {
  createRequest,
  type Discovery,
  SCENARIOS,
  type StepContext,
  VuInterruptedError,
  type VuState,
} from "./steps.ts";

/** What a generator process needs to run its share of the VUs. */
export interface WorkerPlan {
  options: LoadOptions;
  discovery: Discovery;
  worker: number;
  workers: number;
}

interface Vu {
  state: VuState;
  stopping: boolean;
  wake: () => void;
  abort: AbortController;
  done: Promise<void>;
}

const TICK_MS = 100;
const GOLDEN = 0.6180339887498949;

/** This process's share of `target` VUs (shares differ by at most one). */
export function shareOf(target: number, worker: number, workers: number): number {
  return Math.floor(target / workers) + (worker < target % workers ? 1 : 0);
}

/** Spreads a share evenly over VU ids (a low-discrepancy sequence, not a coin flip). */
function inShare(id: number, share: number, offset = 0): boolean {
  return (id * GOLDEN + offset) % 1 < share;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs this process's VUs from `startAt` (epoch ms) to the end of the stages plus grace,
 * emitting one bucket per second. Aborting `stop` ends the stages early (graceful stop).
 */
export async function runWorker(
  plan: WorkerPlan,
  emit: (message: WorkerMessage) => void,
  options: { startAt: number; stop?: AbortSignal },
): Promise<void> {
  const { options: load, discovery, worker, workers } = plan;
  const steps = SCENARIOS[load.scenario];
  const flags = new Map<string, boolean>();
  const recorder = new SecondRecorder(options.startAt, emit, worker);
  const running: Vu[] = [];
  const alive = new Set<Vu>();
  let spawned = 0;

  function startVu(): void {
    const id = worker + spawned++ * workers;
    let wake = () => {};
    const vu: Vu = {
      state: {
        id,
        iteration: 0,
        logsIn: inShare(id, load.loginShare),
        // Offset so that buyers and the VUs that log in are not the same ones.
        buys: inShare(id, load.buyShare, 0.5),
        cookies: new Map(),
      },
      stopping: false,
      wake: () => wake(),
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    let currentStep = "";
    const request = createRequest(load.url, vu.state, recorder, {
      timeoutMs: load.requestTimeoutMs,
      signal: vu.abort.signal,
      step: () => currentStep,
    });
    const ctx: StepContext = {
      vu: vu.state,
      data: discovery,
      path: load.path,
      flags,
      sink: recorder,
      credentials: { email: load.loginEmail, password: load.loginPassword },
      request,
      random: Math.random,
    };
    async function loop(): Promise<void> {
      while (!vu.stopping) {
        vu.state.iteration++;
        vu.state.cookies.clear();
        try {
          for (const step of steps) {
            currentStep = step.name;
            await step.run(ctx);
          }
          recorder.iterationDone();
        } catch (error) {
          if (error instanceof VuInterruptedError) {
            recorder.iterationInterrupted();
            return;
          }
          recorder.note(`Step "${currentStep}" threw: ${String(error).slice(0, 200)}`);
        }
        if (vu.stopping) return;
        const [lo, hi] = load.thinkMs;
        if (hi === 0) continue; // a closed loop without think time, like hey and wrk
        const think = lo + Math.random() * (hi - lo);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, think);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = () => {};
      }
    }
    vu.done = loop().finally(() => {
      request.close();
      alive.delete(vu);
      recorder.setVus(alive.size);
    });
    running.push(vu);
    alive.add(vu);
    recorder.setVus(alive.size);
  }

  function stopVu(vu: Vu, graceMs: number): void {
    vu.stopping = true;
    vu.wake();
    const timer = setTimeout(() => vu.abort.abort(), graceMs);
    vu.done.finally(() => clearTimeout(timer));
  }

  await delay(Math.max(0, options.startAt - Date.now()));
  recorder.start();
  const total = totalDuration(load.stages);
  while (!options.stop?.aborted) {
    const elapsed = Date.now() - options.startAt;
    if (elapsed >= total) break;
    const mine = shareOf(targetAt(load.stages, elapsed), worker, workers);
    while (running.length < mine) startVu();
    while (running.length > mine) stopVu(running.pop()!, load.rampDownGraceMs);
    await delay(TICK_MS);
  }
  for (const vu of running.splice(0)) stopVu(vu, load.stopGraceMs);
  await Promise.all([...alive].map((vu) => vu.done));
  recorder.stop();
  emit({ type: "done", worker });
}
