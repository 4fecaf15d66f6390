import { Hono } from "hono";
import type { CacheMetrics } from "../edge/cache/metrics.ts";
import type { CapacityMetrics } from "../edge/platform/capacity_metrics.ts";

/** `GET /metrics` in the Prometheus text format: cache counters, then capacity and memory. */
export function metricsRoutes(
  deps: { cache: { metrics: CacheMetrics }; capacity?: CapacityMetrics },
): Hono {
  const app = new Hono();
  app.get("/metrics", (c) => {
    c.header("Cache-Control", "no-store");
    const text = deps.cache.metrics.render() + (deps.capacity?.render() ?? "");
    return c.body(text, 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });
  return app;
}
