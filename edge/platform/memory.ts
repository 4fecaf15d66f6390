/**
 * Gives memory back after a load has passed. Deno's native side (each open connection costs about
 * 18 KB of allocator memory, BENCHMARKS.md "Memory") allocates through glibc malloc, which keeps
 * freed memory in its heap instead of returning it: after 10,000 connections closed, RSS stayed
 * ~140 MiB higher until `malloc_trim` gave it back in ~14 ms. This checks every `everyMs` how much
 * the allocator holds free (mallinfo2) and trims when at least `minFreeBytes` more became free
 * than the least it held since the last trim (trimmed pages still count as free there).
 */
import type { Libc } from "./libc.ts";
import type { Logger } from "./log.ts";

export interface MemoryReleaserOptions {
  libc: Libc;
  logger: Logger;
  /** How often the free heap is looked at. */
  everyMs?: number;
  /** Free heap above which it is trimmed. */
  minFreeBytes?: number;
}

/** What the releaser did, for metrics. */
export interface MemoryReleaserStats {
  trims: number;
  releasedBytes: number;
}

const MIB = 1024 * 1024;

/** Starts the periodic check; `stop()` ends it, `check()` runs one now. */
export function startMemoryReleaser(options: MemoryReleaserOptions) {
  const { libc, logger } = options;
  const minFreeBytes = options.minFreeBytes ?? 32 * MIB;
  const stats: MemoryReleaserStats = { trims: 0, releasedBytes: 0 };
  let leastFreeSinceTrim = 0;

  function check(): boolean {
    const free = libc.freeHeapBytes();
    leastFreeSinceTrim = Math.min(leastFreeSinceTrim, free);
    if (free - leastFreeSinceTrim < minFreeBytes) return false;
    const before = Deno.memoryUsage().rss;
    const started = performance.now();
    libc.trimHeap();
    leastFreeSinceTrim = libc.freeHeapBytes();
    const after = Deno.memoryUsage().rss;
    stats.trims++;
    stats.releasedBytes += Math.max(0, before - after);
    logger.info("returned free heap memory to the OS", {
      freeMiB: Math.round(free / MIB),
      rssBeforeMiB: Math.round(before / MIB),
      rssAfterMiB: Math.round(after / MIB),
      ms: Math.round(performance.now() - started),
    });
    return true;
  }

  const timer = setInterval(check, options.everyMs ?? 10_000);
  Deno.unrefTimer(timer);
  return {
    check,
    stats: (): MemoryReleaserStats => ({ ...stats }),
    stop: () => clearInterval(timer),
  };
}
