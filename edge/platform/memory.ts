/**
 * Gives memory back after it was needed. Two kinds stay in RSS after a peak:
 * - **V8 heap** that nothing references any more: Deno sends V8 no idle notifications, so after
 *   the start-up seed (or a burst of load) the garbage stays mapped until allocation triggers a
 *   collection — a freshly seeded shop sat at ~220 MiB, ~95 MiB after one full collection — and
 *   after load V8 keeps the heap it grew (122 MiB committed for 73 MiB in use at 2,000 VUs).
 *   When the heap in use grew `minGrowthBytes` beyond what the last full collection left, or
 *   more than `minSlackBytes` is committed but unused, one runs (a pause of a few tens of ms, at
 *   most once per check), and once more when a busy period goes quiet, which is when V8 would
 *   have collected had it been told the process was idle. The young generation, the other
 *   large part, is bounded at launch (`--v8-flags=--max-semi-space-size`, deno.json tasks); V8
 *   ignores that flag at run time.
 * - **glibc heap** freed by Deno's native side (each open connection costs ~16 KB there,
 *   BENCHMARKS.md "Memory"): malloc keeps freed memory instead of returning it, so after 10,000
 *   connections closed RSS stayed ~150 MiB higher until `malloc_trim` gave it back (~14 ms). It
 *   trims when at least `minFreeBytes` more became free than the least it held since the last
 *   trim (trimmed pages still count as free in mallinfo2).
 */
import v8 from "node:v8";
import vm from "node:vm";
import type { Libc } from "./libc.ts";
import type { Logger } from "./log.ts";

export interface MemoryReleaserOptions {
  /** For the glibc part; without it only V8 garbage is collected. */
  libc?: Libc;
  logger: Logger;
  /** How often it looks. */
  everyMs?: number;
  /** Free glibc heap that triggers a trim. */
  minFreeBytes?: number;
  /** Growth of the V8 heap in use since the last full collection that triggers another. */
  minGrowthBytes?: number;
  /** V8 heap committed beyond what is in use that triggers a full collection. */
  minSlackBytes?: number;
  /**
   * Requests served so far: a check that finds fewer than one a second since the last one, after
   * a busier one, releases everything it can ("quiet after load").
   */
  requestsServed?: () => number;
}

/** What the releaser did, for metrics. */
export interface MemoryReleaserStats {
  collections: number;
  trims: number;
  /** RSS given back, summed over every release. */
  releasedBytes: number;
}

const MIB = 1024 * 1024;

let fullCollection: (() => void) | null | undefined;

/** V8's full collection (`gc()`), made available at run time as Node allows; null if it cannot. */
export function fullGarbageCollection(): (() => void) | null {
  if (fullCollection === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      fullCollection = vm.runInNewContext("gc") as () => void;
    } catch {
      fullCollection = null;
    }
  }
  return fullCollection;
}

/** Starts the periodic check; `stop()` ends it, `check()` runs one now, `releaseNow()` forces. */
export function startMemoryReleaser(options: MemoryReleaserOptions) {
  const { libc, logger } = options;
  const minFreeBytes = options.minFreeBytes ?? 32 * MIB;
  const minGrowthBytes = options.minGrowthBytes ?? 64 * MIB;
  const minSlackBytes = options.minSlackBytes ?? 48 * MIB;
  const stats: MemoryReleaserStats = { collections: 0, trims: 0, releasedBytes: 0 };
  let leastFreeSinceTrim = 0;
  let liveAfterCollection = Deno.memoryUsage().heapUsed;
  const everyMs = options.everyMs ?? 10_000;
  let servedAtLastCheck: number | undefined; // read at the first check, not before

  let busySinceRelease = false;

  function release(reason: string, collect: boolean, trim: boolean): boolean {
    const gc = collect ? fullGarbageCollection() : null;
    if (!gc && !(trim && libc)) return false;
    const before = Deno.memoryUsage().rss;
    const started = performance.now();
    if (gc) {
      gc();
      liveAfterCollection = Deno.memoryUsage().heapUsed;
      stats.collections++;
    }
    if (trim && libc) {
      libc.trimHeap();
      leastFreeSinceTrim = libc.freeHeapBytes();
      stats.trims++;
    }
    const after = Deno.memoryUsage().rss;
    stats.releasedBytes += Math.max(0, before - after);
    logger.info("released memory", {
      reason,
      rssBeforeMiB: Math.round(before / MIB),
      rssAfterMiB: Math.round(after / MIB),
      ms: Math.round(performance.now() - started),
    });
    return true;
  }

  /** True once when the request rate fell to about nothing after a busy stretch. */
  function wentQuiet(): boolean {
    if (!options.requestsServed) return false;
    const served = options.requestsServed();
    const quiet = served - (servedAtLastCheck ?? served) <= everyMs / 1000;
    servedAtLastCheck = served;
    if (!quiet) busySinceRelease = true;
    if (!quiet || !busySinceRelease) return false;
    busySinceRelease = false;
    return true;
  }

  function check(): boolean {
    if (wentQuiet()) return release("quiet after load", true, true);
    const { heapUsed, heapTotal } = Deno.memoryUsage();
    const collect = heapUsed - liveAfterCollection > minGrowthBytes ||
      heapTotal - heapUsed > minSlackBytes;
    let trim = false;
    if (libc) {
      const free = libc.freeHeapBytes();
      leastFreeSinceTrim = Math.min(leastFreeSinceTrim, free);
      trim = free - leastFreeSinceTrim >= minFreeBytes;
    }
    if (!collect && !trim) return false;
    return release(collect ? "V8 heap" : "free allocator heap", collect, trim);
  }

  const timer = setInterval(check, everyMs);
  Deno.unrefTimer(timer);
  return {
    check,
    /** A full collection and a trim now (after start-up work such as seeding). */
    releaseNow: (reason: string) => release(reason, true, true),
    stats: (): MemoryReleaserStats => ({ ...stats }),
    stop: () => clearInterval(timer),
  };
}
