import { Hono } from "hono";
import type { CacheMetrics } from "../edge/cache/metrics.ts";

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoutes(deps: { cache: { metrics: CacheMetrics } }): Hono {
  const app = new Hono();
  app.get("/metrics", (c) => {
    c.header("Cache-Control", "no-store");
    return c.body(deps.cache.metrics.render(), 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });
  return app;
}
