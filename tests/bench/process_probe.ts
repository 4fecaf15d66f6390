/**
 * What a server process and the kernel look like while a benchmark runs, sampled from /proc and
 * `ss` (Linux only): the process's RSS split into glibc heap, anonymous mappings (V8's heap,
 * thread arenas) and file mappings, its open descriptors and CPU, the listening socket's accept
 * queue, established connections, and the kernel's SYN and accept-queue drop counters.
 *
 * Run it beside any load (`deno run -A tests/bench/process_probe.ts --pid N --port P`) or use
 * `startProbe` from a benchmark.
 */

import { BENCH_METRICS_TOKEN } from "./shop_process.ts";

/** One sample; sizes in MiB, times in ms since the probe started. */
export interface ProbeSample {
  at: number;
  rssMiB: number;
  /** glibc's main heap ([heap]): Deno's native allocations, per-connection state among them. */
  heapMiB: number;
  /** Anonymous mappings: V8's heap, thread arenas, stacks. */
  anonMiB: number;
  fileMiB: number;
  fds: number;
  /** CPU time used since the previous sample, as a share of one core. */
  cpu: number;
  /** Connections waiting in the accept queue (ss Recv-Q) and its size (Send-Q). */
  acceptQueue: number;
  backlog: number;
  established: number;
  /** Kernel counters, increase since the probe started (whole network namespace). */
  listenOverflows: number;
  listenDrops: number;
  synDrops: number;
  /** From the shop's /metrics when a URL was given (and it answered within a second). */
  jsHeapUsedMiB?: number;
  jsHeapTotalMiB?: number;
  jsExternalMiB?: number;
  inFlight?: number;
  eventLoopDelayMs?: number;
}

/** Peaks and ends of a series of samples. */
export interface ProbeSummary {
  samples: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  peakAnonMiB: number;
  peakFds: number;
  peakEstablished: number;
  peakAcceptQueue: number;
  backlog: number;
  peakCpu: number;
  listenOverflows: number;
  listenDrops: number;
  synDrops: number;
  /** From /metrics, when scraped. */
  peakJsHeapTotalMiB?: number;
}

/** TcpExt counters from /proc/net/netstat. */
export async function readTcpCounters(): Promise<Record<string, number>> {
  const text = await Deno.readTextFile("/proc/net/netstat");
  const lines = text.split("\n").filter((line) => line.startsWith("TcpExt:"));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  const counters: Record<string, number> = {};
  names.forEach((name, i) => counters[name] = Number(values[i]));
  return counters;
}

/** RSS of `pid` by kind of mapping, from /proc/<pid>/smaps, in KiB. */
async function memoryMap(
  pid: number,
): Promise<{ rss: number; heap: number; anon: number; file: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/smaps`);
  let kind: "heap" | "anon" | "file" = "anon";
  const sums = { rss: 0, heap: 0, anon: 0, file: 0 };
  for (const line of text.split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const name = line.split(/\s+/)[5] ?? "";
      kind = name === "[heap]" ? "heap" : name === "" || name.startsWith("[") ? "anon" : "file";
    } else if (line.startsWith("Rss:")) {
      const kb = Number(line.split(/\s+/)[1]);
      sums.rss += kb;
      sums[kind] += kb;
    }
  }
  return sums;
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

async function socketStats(
  port: number,
): Promise<{ queue: number; backlog: number; established: number }> {
  const run = async (args: string[]) =>
    new TextDecoder().decode(
      (await new Deno.Command("ss", { args, stdout: "piped" }).output()).stdout,
    );
  const listening = (await run(["-lntH", `sport = :${port}`])).trim().split(/\s+/);
  const established = (await run(["-tnH", "state", "established", `sport = :${port}`])).trim();
  return {
    queue: Number(listening[1] ?? 0),
    backlog: Number(listening[2] ?? 0),
    established: established === "" ? 0 : established.split("\n").length,
  };
}

const TICKS_PER_SECOND = 100;

/** The capacity figures of the shop's /metrics, or undefined when it does not answer in time. */
async function scrape(
  metricsUrl: string,
  metricsToken: string,
): Promise<Partial<ProbeSample> | undefined> {
  try {
    const response = await fetch(metricsUrl, {
      headers: { Authorization: `Bearer ${metricsToken}` },
      signal: AbortSignal.timeout(1000),
    });
    const text = await response.text();
    const value = (name: string) =>
      Number(new RegExp(`^shop_${name} (\\S+)$`, "m").exec(text)?.[1]);
    const mib = (bytes: number) => Math.round(bytes / 104857.6) / 10;
    return {
      jsHeapUsedMiB: mib(value("js_heap_used_bytes")),
      jsHeapTotalMiB: mib(value("js_heap_total_bytes")),
      jsExternalMiB: mib(value("js_external_memory_bytes")),
      inFlight: value("requests_in_flight"),
      eventLoopDelayMs: value("event_loop_delay_ms"),
    };
  } catch {
    return undefined;
  }
}

/**
 * Samples `pid` (listening on `port`) every `everyMs` until `stop()`; with `metricsUrl`, the
 * shop's own heap figures too.
 */
export async function startProbe(
  pid: number,
  port: number,
  everyMs = 1000,
  metricsUrl?: string,
  metricsToken = BENCH_METRICS_TOKEN,
) {
  const samples: ProbeSample[] = [];
  const started = performance.now();
  const base = await readTcpCounters();
  let lastTicks = await cpuTicks(pid);
  let lastAt = started;
  let stopped = false;
  let wake = () => {};
  async function sample(): Promise<void> {
    const [memory, ticks, sockets, counters, fds, metrics] = await Promise.all([
      memoryMap(pid),
      cpuTicks(pid),
      socketStats(port),
      readTcpCounters(),
      Array.fromAsync(Deno.readDir(`/proc/${pid}/fd`)).then((entries) => entries.length),
      metricsUrl ? scrape(metricsUrl, metricsToken) : undefined,
    ]);
    const now = performance.now();
    const mib = (kb: number) => Math.round(kb / 102.4) / 10;
    samples.push({
      at: Math.round(now - started),
      rssMiB: mib(memory.rss),
      heapMiB: mib(memory.heap),
      anonMiB: mib(memory.anon),
      fileMiB: mib(memory.file),
      fds,
      cpu: (ticks - lastTicks) / TICKS_PER_SECOND / ((now - lastAt) / 1000),
      acceptQueue: sockets.queue,
      backlog: sockets.backlog,
      established: sockets.established,
      listenOverflows: counters.ListenOverflows - base.ListenOverflows,
      listenDrops: counters.ListenDrops - base.ListenDrops,
      synDrops: counters.TCPReqQFullDrop - base.TCPReqQFullDrop,
      ...metrics,
    });
    lastTicks = ticks;
    lastAt = now;
  }
  const loop = (async () => {
    while (!stopped) {
      const next = performance.now() + everyMs;
      try {
        await sample();
      } catch {
        if (stopped) break; // the process is gone
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, next - performance.now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    samples,
    /** Takes one last sample and stops. */
    async stop(): Promise<ProbeSample[]> {
      stopped = true;
      wake();
      await loop;
      await sample().catch(() => {});
      return samples;
    },
  };
}

/** Peaks (and kernel counter totals) of `samples`. */
export function summarize(samples: ProbeSample[]): ProbeSummary {
  const peak = (pick: (s: ProbeSample) => number) => Math.max(0, ...samples.map(pick));
  const last = samples.at(-1);
  return {
    samples: samples.length,
    peakRssMiB: peak((s) => s.rssMiB),
    peakHeapMiB: peak((s) => s.heapMiB),
    peakAnonMiB: peak((s) => s.anonMiB),
    peakFds: peak((s) => s.fds),
    peakEstablished: peak((s) => s.established),
    peakAcceptQueue: peak((s) => s.acceptQueue),
    backlog: last?.backlog ?? 0,
    peakCpu: Math.round(peak((s) => s.cpu) * 100) / 100,
    listenOverflows: last?.listenOverflows ?? 0,
    listenDrops: last?.listenDrops ?? 0,
    synDrops: last?.synDrops ?? 0,
    peakJsHeapTotalMiB: peak((s) => s.jsHeapTotalMiB ?? 0) || undefined,
  };
}

/** One line per sample, for logs and BENCHMARKS.md. */
export function formatSample(s: ProbeSample): string {
  return `t=${(s.at / 1000).toFixed(0)}s rss=${s.rssMiB} heap=${s.heapMiB} anon=${s.anonMiB} ` +
    `fds=${s.fds} est=${s.established} acceptq=${s.acceptQueue}/${s.backlog} ` +
    `cpu=${s.cpu.toFixed(2)} overflows=${s.listenOverflows} drops=${s.listenDrops}` +
    (s.jsHeapTotalMiB === undefined
      ? ""
      : ` js=${s.jsHeapUsedMiB}/${s.jsHeapTotalMiB} ext=${s.jsExternalMiB} inflight=${s.inFlight} lag=${s.eventLoopDelayMs}`);
}

if (import.meta.main) {
  const arg = (name: string) => Deno.args[Deno.args.indexOf(`--${name}`) + 1];
  const pid = Number(arg("pid"));
  const port = Number(arg("port"));
  if (!pid || !port) {
    console.error(
      "Usage: deno run -A tests/bench/process_probe.ts --pid PID --port PORT [--metrics URL --metrics-token TOKEN]",
    );
    Deno.exit(2);
  }
  const probe = await startProbe(
    pid,
    port,
    1000,
    arg("metrics"),
    Deno.args.includes("--metrics-token") ? arg("metrics-token") : undefined,
  );
  let printed = 0;
  const timer = setInterval(() => {
    while (printed < probe.samples.length) console.log(formatSample(probe.samples[printed++]));
  }, 1000);
  Deno.addSignalListener("SIGINT", async () => {
    clearInterval(timer);
    const samples = await probe.stop();
    console.log(JSON.stringify(summarize(samples)));
    Deno.exit(0);
  });
  // Ends with the process it watches.
  while (true) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      await Deno.stat(`/proc/${pid}`);
    } catch {
      clearInterval(timer);
      console.log(JSON.stringify(summarize(probe.samples)));
      Deno.exit(0);
    }
  }
}
