/**
 * Which requests left this edge's region: on an edge outside the primary region, every call to
 * the primary database or to Redis crosses to another region. Each request is tracked on its
 * own (AsyncLocalStorage), and its answer names what it spent out there in `Server-Timing`,
 * e.g. `edge;desc="eu-west", primary;dur=162.4;desc="1 call"`, so a slow answer shows where its
 * time went (browser dev tools read the header) and the regions benchmark counts the requests
 * served without crossing.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createMiddleware } from "hono/factory";

/** What a request reached outside its region. */
export type CrossingTarget = "primary" | "redis";

interface CrossingTally {
  calls: number;
  /** Summed duration; only known for targets whose client reports completion. */
  ms: number;
}

type RequestCrossings = Partial<Record<CrossingTarget, CrossingTally>>;

/** Per-request accounting of cross-region calls. */
export interface RegionCrossings {
  /** Counts one call to `target` for the request running now (ignored outside a request). */
  record(target: CrossingTarget, elapsedMs?: number): void;
  /** Runs `fn` as one request with its own tally, and returns the tally with the result. */
  run<T>(fn: () => Promise<T>): Promise<{ result: T; crossings: RequestCrossings }>;
}

/** Creates the tracker; clients report to `record`, the middleware runs requests in `run`. */
export function createRegionCrossings(): RegionCrossings {
  const storage = new AsyncLocalStorage<RequestCrossings>();
  return {
    record(target, elapsedMs) {
      const tally = storage.getStore();
      if (!tally) return; // background work: polls, revalidations after the answer
      const entry = tally[target] ??= { calls: 0, ms: 0 };
      entry.calls++;
      entry.ms += elapsedMs ?? 0;
    },
    async run(fn) {
      const crossings: RequestCrossings = {};
      const result = await storage.run(crossings, fn);
      return { result, crossings };
    },
  };
}

/** The `Server-Timing` value for one request served in `region`. */
export function serverTiming(region: string, crossings: RequestCrossings): string {
  const parts = [`edge;desc="${region}"`];
  for (const target of ["primary", "redis"] as const) {
    const tally = crossings[target];
    if (!tally) continue;
    const desc = `desc="${tally.calls} ${tally.calls === 1 ? "call" : "calls"}"`;
    parts.push(tally.ms > 0 ? `${target};dur=${tally.ms.toFixed(1)};${desc}` : `${target};${desc}`);
  }
  return parts.join(", ");
}

/** Middleware: tracks each request's cross-region calls and reports them in `Server-Timing`. */
export function reportRegionCrossings(crossings: RegionCrossings, region: string) {
  return createMiddleware(async (c, next) => {
    const { crossings: tally } = await crossings.run(next);
    c.res.headers.append("Server-Timing", serverTiming(region, tally));
  });
}
