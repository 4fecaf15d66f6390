/**
 * Cache counters, rendered in the Prometheus text format by routes/metrics.ts.
 */

export type CacheCounter =
  | "hits"
  | "misses"
  | "stale_served"
  | "origin_fetches"
  | "origin_errors"
  | "coalesced_waits"
  | "revalidations"
  | "invalidations"
  | "invalidation_events"
  | "lease_waits"
  | "tier_errors"
  | "fills_skipped";

const HELP: Record<CacheCounter, string> = {
  hits: "Responses answered from a cache tier",
  misses: "Lookups no tier could answer",
  stale_served: "Stale responses served (while revalidating or on origin errors)",
  origin_fetches: "Calls of the origin loader",
  origin_errors: "Origin loader failures",
  coalesced_waits: "Lookups that joined an origin fetch already running on this node",
  revalidations: "Background revalidations started",
  invalidations: "Tags invalidated",
  invalidation_events: "Invalidation events applied from other nodes",
  lease_waits: "Misses that waited for another node's fetch",
  tier_errors: "KV or Redis calls that failed or ran over budget",
  fills_skipped: "KV or Redis writes skipped because too many were in flight",
};

/** Counters with optional labels, plus gauges read at render time. */
export class CacheMetrics {
  #counters = new Map<string, number>();
  #gauges = new Map<string, () => number>();

  /** Adds `by` to a counter, e.g. `inc("hits", { tier: "L0" })`. */
  inc(name: CacheCounter, labels?: Record<string, string>, by = 1): void {
    const id = seriesId(name, labels);
    this.#counters.set(id, (this.#counters.get(id) ?? 0) + by);
  }

  /** A bound incrementer for one series, for hot paths that count on every request. */
  counter(name: CacheCounter, labels?: Record<string, string>): () => void {
    const id = seriesId(name, labels);
    return () => {
      this.#counters.set(id, (this.#counters.get(id) ?? 0) + 1);
    };
  }

  /** The current value of one series (tests read these). */
  value(name: CacheCounter, labels?: Record<string, string>): number {
    return this.#counters.get(seriesId(name, labels)) ?? 0;
  }

  /** Registers a gauge computed when metrics are rendered. */
  gauge(name: string, read: () => number): void {
    this.#gauges.set(name, read);
  }

  /** Prometheus text exposition (version 0.0.4). */
  render(): string {
    const lines: string[] = [];
    for (const name of Object.keys(HELP) as CacheCounter[]) {
      const metric = `edge_cache_${name}_total`;
      lines.push(`# HELP ${metric} ${HELP[name]}`, `# TYPE ${metric} counter`);
      let any = false;
      for (const [id, value] of this.#counters) {
        if (id === name || id.startsWith(`${name}{`)) {
          lines.push(`edge_cache_${id.replace(name, `${name}_total`)} ${value}`);
          any = true;
        }
      }
      if (!any) lines.push(`${metric} 0`);
    }
    for (const [name, read] of this.#gauges) {
      lines.push(`# TYPE edge_cache_${name} gauge`, `edge_cache_${name} ${read()}`);
    }
    return lines.join("\n") + "\n";
  }
}

function seriesId(name: string, labels?: Record<string, string>): string {
  if (!labels) return name;
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  return `${name}{${parts.join(",")}}`;
}
