/**
 * Metrics in two halves: `SecondRecorder` runs next to the VUs and turns samples into one
 * message per second; `Aggregate` merges those messages from every generator process
 * into totals, per-step histograms and time series. Memory depends on run length and
 * step count, never on request or VU count.
 */

import process from "node:process";
import { Histogram, type HistogramJson } from "./histogram.ts";
import type { LoadOptions, Threshold } from "./config.ts";
import { maxTarget } from "./config.ts";
import type { Sample, Sink } from "./steps.ts";

interface StatJson {
  hist: HistogramJson;
  failed: number;
  bytes: number;
}

/** One second of one generator process. */
export interface BucketMessage {
  type: "bucket";
  worker: number;
  sec: number;
  all: StatJson;
  /** Durations of the failed requests alone (how fast failures come back). */
  failures: StatJson;
  steps: Record<string, StatJson>;
  errors: Record<string, number>;
  vus: number;
  vusPeak: number;
  iterations: number;
  interrupted: number;
  /** CPU time used in this second, as a fraction of one core. */
  cpu: number;
  /** Longest event-loop delay observed in this second. */
  lagMs: number;
}

export type WorkerMessage =
  | { type: "ready"; worker: number }
  | { type: "note"; worker: number; text: string }
  | { type: "done"; worker: number }
  | BucketMessage;

class Stat {
  hist = new Histogram();
  failed = 0;
  bytes = 0;

  add(sample: Sample): void {
    this.hist.record(sample.durationMs);
    if (sample.failed) this.failed++;
    this.bytes += sample.bytes;
  }

  merge(json: StatJson): void {
    this.hist.merge(json.hist);
    this.failed += json.failed;
    this.bytes += json.bytes;
  }

  toJSON(): StatJson {
    return { hist: this.hist.toJSON(), failed: this.failed, bytes: this.bytes };
  }
}

/** A worker counts as saturated in a second when it used ≥ 90% of a core or its loop lagged ≥ 100 ms. */
export const SATURATED_CPU = 0.9;
export const SATURATED_LAG_MS = 100;

/** Collects samples for the current second and emits a `BucketMessage` when it ends. */
export class SecondRecorder implements Sink {
  #emit: (message: WorkerMessage) => void;
  #worker: number;
  #startAt: number;
  #sec = 0;
  #all = new Stat();
  #failures = new Stat();
  #steps = new Map<string, Stat>();
  #errors = new Map<string, number>();
  #notes = new Set<string>();
  #iterations = 0;
  #interrupted = 0;
  #vus = 0;
  #vusPeak = 0;
  #lagMs = 0;
  #cpuAt = process.cpuUsage();
  #wallAt = performance.now();
  #timer?: ReturnType<typeof setTimeout>;
  #lagTimer?: ReturnType<typeof setInterval>;

  constructor(startAt: number, emit: (message: WorkerMessage) => void, worker: number) {
    this.#startAt = startAt;
    this.#emit = emit;
    this.#worker = worker;
  }

  /** Starts the per-second flush and the event-loop lag probe. */
  start(): void {
    this.#sec = this.#secondNow();
    this.#cpuAt = process.cpuUsage();
    this.#wallAt = performance.now();
    const untilNext = 1000 - ((Date.now() - this.#startAt) % 1000);
    this.#timer = setTimeout(() => {
      this.roll();
      this.#timer = setInterval(() => this.roll(), 1000);
    }, untilNext + 5);
    let expected = performance.now() + 50;
    this.#lagTimer = setInterval(() => {
      const now = performance.now();
      this.#lagMs = Math.max(this.#lagMs, now - expected);
      expected = now + 50;
    }, 50);
  }

  stop(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    clearInterval(this.#lagTimer);
    this.#flush();
  }

  #secondNow(): number {
    return Math.max(0, Math.floor((Date.now() - this.#startAt) / 1000));
  }

  record(sample: Sample): void {
    if (this.#secondNow() !== this.#sec) this.roll();
    this.#all.add(sample);
    if (sample.failed) this.#failures.add(sample);
    let step = this.#steps.get(sample.step);
    if (!step) this.#steps.set(sample.step, step = new Stat());
    step.add(sample);
    if (sample.error) this.#errors.set(sample.error, (this.#errors.get(sample.error) ?? 0) + 1);
  }

  note(text: string): void {
    if (this.#notes.has(text)) return;
    this.#notes.add(text);
    this.#emit({ type: "note", worker: this.#worker, text });
  }

  iterationDone(): void {
    this.#iterations++;
  }

  iterationInterrupted(): void {
    this.#interrupted++;
  }

  setVus(active: number): void {
    this.#vus = active;
    if (active > this.#vusPeak) this.#vusPeak = active;
  }

  /** Emits the finished second (if the clock moved on) and opens the next one. */
  roll(): void {
    const now = this.#secondNow();
    if (now === this.#sec) return;
    this.#flush();
    this.#sec = now;
  }

  #flush(): void {
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const usedMs = (cpu.user - this.#cpuAt.user + cpu.system - this.#cpuAt.system) / 1000;
    const steps: Record<string, StatJson> = {};
    for (const [name, stat] of this.#steps) steps[name] = stat.toJSON();
    this.#emit({
      type: "bucket",
      worker: this.#worker,
      sec: this.#sec,
      all: this.#all.toJSON(),
      failures: this.#failures.toJSON(),
      steps,
      errors: Object.fromEntries(this.#errors),
      vus: this.#vus,
      vusPeak: this.#vusPeak,
      iterations: this.#iterations,
      interrupted: this.#interrupted,
      cpu: wall > this.#wallAt ? usedMs / (wall - this.#wallAt) : 0,
      lagMs: this.#lagMs,
    });
    this.#cpuAt = cpu;
    this.#wallAt = wall;
    this.#all = new Stat();
    this.#failures = new Stat();
    this.#steps.clear();
    this.#errors.clear();
    this.#iterations = 0;
    this.#interrupted = 0;
    this.#vusPeak = this.#vus;
    this.#lagMs = 0;
  }
}

export interface SeriesPoint {
  t: number;
  reqs: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
  vus: number;
  iterations: number;
}

export interface DurationStats {
  avg: number;
  min: number;
  med: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface StepSummary extends DurationStats {
  name: string;
  reqs: number;
  failed: number;
}

export interface WorkerHealth {
  worker: number;
  maxCpu: number;
  avgCpu: number;
  maxLagMs: number;
  saturatedSeconds: number;
}

export interface ThresholdResult {
  source: string;
  actual: number;
  ok: boolean;
}

/** Everything a run produced: what the summary, the HTML report and `--json` show. */
export interface LoadResult {
  preset: string;
  url: string;
  scenario: string;
  stages: LoadOptions["stages"];
  thinkMs: [number, number];
  workers: number;
  startedAt: string;
  durationS: number;
  reqs: number;
  failed: number;
  failedRate: number;
  rps: number;
  duration: DurationStats;
  /** How long failed requests took (fast 503s, or timeouts). */
  failedDuration: DurationStats;
  bytesReceived: number;
  iterations: number;
  interrupted: number;
  vusPeak: number;
  vusMax: number;
  steps: StepSummary[];
  errors: Array<{ reason: string; count: number }>;
  thresholds: ThresholdResult[];
  generator: WorkerHealth[];
  coordinatorCpu: number;
  series: SeriesPoint[];
  notes: string[];
  passed: boolean;
}

function durationStats(hist: Histogram): DurationStats {
  return {
    avg: hist.mean,
    min: hist.count ? hist.min : 0,
    med: hist.percentile(0.5),
    p90: hist.percentile(0.9),
    p95: hist.percentile(0.95),
    p99: hist.percentile(0.99),
    max: hist.count ? hist.max : 0,
  };
}

interface SecondAgg {
  hist: Histogram;
  failed: number;
  vus: number;
  vusPeak: number;
  iterations: number;
}

interface WorkerAgg {
  cpuSum: number;
  seconds: number;
  maxCpu: number;
  maxLagMs: number;
  saturated: number;
}

/** Merges worker messages; `finish()` computes the result once all workers are done. */
export class Aggregate {
  #options: LoadOptions;
  #all = new Stat();
  #failures = new Stat();
  #steps = new Map<string, Stat>();
  #errors = new Map<string, number>();
  #seconds = new Map<number, SecondAgg>();
  #workers = new Map<number, WorkerAgg>();
  #notes = new Set<string>();
  #iterations = 0;
  #interrupted = 0;
  #lastSec = -1;

  constructor(options: LoadOptions) {
    this.#options = options;
  }

  note(text: string): void {
    this.#notes.add(text);
  }

  add(message: WorkerMessage): void {
    if (message.type === "note") this.#notes.add(message.text);
    if (message.type !== "bucket") return;
    this.#all.merge(message.all);
    if (message.failures) this.#failures.merge(message.failures);
    for (const [name, json] of Object.entries(message.steps)) {
      let stat = this.#steps.get(name);
      if (!stat) this.#steps.set(name, stat = new Stat());
      stat.merge(json);
    }
    for (const [reason, count] of Object.entries(message.errors)) {
      this.#errors.set(reason, (this.#errors.get(reason) ?? 0) + count);
    }
    this.#iterations += message.iterations;
    this.#interrupted += message.interrupted;
    let second = this.#seconds.get(message.sec);
    if (!second) {
      second = { hist: new Histogram(), failed: 0, vus: 0, vusPeak: 0, iterations: 0 };
      this.#seconds.set(message.sec, second);
    }
    second.hist.merge(message.all.hist);
    second.failed += message.all.failed;
    second.vus += message.vus;
    second.vusPeak += message.vusPeak;
    second.iterations += message.iterations;
    this.#lastSec = Math.max(this.#lastSec, message.sec);

    let worker = this.#workers.get(message.worker);
    if (!worker) {
      worker = { cpuSum: 0, seconds: 0, maxCpu: 0, maxLagMs: 0, saturated: 0 };
      this.#workers.set(message.worker, worker);
    }
    worker.cpuSum += message.cpu;
    worker.seconds++;
    worker.maxCpu = Math.max(worker.maxCpu, message.cpu);
    worker.maxLagMs = Math.max(worker.maxLagMs, message.lagMs);
    if (message.cpu >= SATURATED_CPU || message.lagMs >= SATURATED_LAG_MS) worker.saturated++;
  }

  /** The latest complete second, for the live progress line. */
  latest(): { t: number; reqs: number; failed: number; p95: number; vus: number } | undefined {
    const second = this.#seconds.get(this.#lastSec - 1);
    if (!second) return undefined;
    return {
      t: this.#lastSec - 1,
      reqs: second.hist.count,
      failed: second.failed,
      p95: second.hist.percentile(0.95),
      vus: second.vus,
    };
  }

  finish(meta: { startedAt: Date; durationS: number; coordinatorCpu: number }): LoadResult {
    const options = this.#options;
    const series: SeriesPoint[] = [];
    let vusPeak = 0;
    for (let t = 0; t <= this.#lastSec; t++) {
      const s = this.#seconds.get(t);
      vusPeak = Math.max(vusPeak, s?.vusPeak ?? 0);
      series.push({
        t,
        reqs: s?.hist.count ?? 0,
        failed: s?.failed ?? 0,
        p50: s?.hist.percentile(0.5) ?? 0,
        p95: s?.hist.percentile(0.95) ?? 0,
        p99: s?.hist.percentile(0.99) ?? 0,
        vus: s?.vus ?? 0,
        iterations: s?.iterations ?? 0,
      });
    }
    const reqs = this.#all.hist.count;
    const rps = meta.durationS > 0 ? reqs / meta.durationS : 0;
    const failedRate = reqs > 0 ? this.#all.failed / reqs : 0;
    const steps = [...this.#steps].map(([name, stat]) => ({
      name,
      reqs: stat.hist.count,
      failed: stat.failed,
      ...durationStats(stat.hist),
    }));
    const thresholds = options.thresholds.map((threshold) =>
      evaluateThreshold(threshold, { all: this.#all, steps: this.#steps, rps })
    );
    const generator = [...this.#workers].sort(([a], [b]) => a - b).map(([worker, w]) => ({
      worker,
      maxCpu: w.maxCpu,
      avgCpu: w.seconds ? w.cpuSum / w.seconds : 0,
      maxLagMs: w.maxLagMs,
      saturatedSeconds: w.saturated,
    }));
    return {
      preset: options.preset,
      url: options.url,
      scenario: options.scenario,
      stages: options.stages,
      thinkMs: options.thinkMs,
      workers: options.workers,
      startedAt: meta.startedAt.toISOString(),
      durationS: meta.durationS,
      reqs,
      failed: this.#all.failed,
      failedRate,
      rps,
      duration: durationStats(this.#all.hist),
      failedDuration: durationStats(this.#failures.hist),
      bytesReceived: this.#all.bytes,
      iterations: this.#iterations,
      interrupted: this.#interrupted,
      vusPeak,
      vusMax: maxTarget(options.stages),
      steps,
      errors: [...this.#errors].map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count),
      thresholds,
      generator,
      coordinatorCpu: meta.coordinatorCpu,
      series,
      notes: [...this.#notes],
      passed: thresholds.every((t) => t.ok),
    };
  }
}

function evaluateThreshold(
  threshold: Threshold,
  data: { all: Stat; steps: Map<string, Stat>; rps: number },
): ThresholdResult {
  const stat = threshold.scope === "all" ? data.all : data.steps.get(threshold.scope);
  // No data fails every threshold but a request count: an empty run proves nothing.
  let actual = NaN;
  if (stat && (stat.hist.count > 0 || threshold.stat === "reqs")) {
    const hist = stat.hist;
    const count = hist.count;
    switch (threshold.stat) {
      case "avg":
        actual = hist.mean;
        break;
      case "min":
        actual = count ? hist.min : 0;
        break;
      case "max":
        actual = count ? hist.max : 0;
        break;
      case "failed":
        actual = count ? stat.failed / count : 0;
        break;
      case "reqs":
        actual = count;
        break;
      case "rps":
        actual = threshold.scope === "all" ? data.rps : NaN;
        break;
      default:
        actual = hist.percentile(Number(threshold.stat.slice(1)) / 100);
    }
  }
  const v = threshold.value;
  const ok = !Number.isNaN(actual) && (
    threshold.op === "<"
      ? actual < v
      : threshold.op === "<="
      ? actual <= v
      : threshold.op === ">"
      ? actual > v
      : actual >= v
  );
  return { source: threshold.source, actual, ok };
}
