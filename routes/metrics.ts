import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { CacheMetrics } from "../edge/cache/metrics.ts";

/**
 * `GET /metrics` in the Prometheus text format, for a scraper holding `METRICS_TOKEN` (compared
 * in constant time by hono's bearer-auth). Without a configured token the route does not exist
 * (404): counters describe traffic and cache behaviour, nothing a stranger needs, and Deno
 * Deploy offers no second, private listener to put them on.
 */
export function metricsRoutes(
  deps: { cache: { metrics: CacheMetrics }; config: { metricsToken?: string } },
): Hono {
  const app = new Hono();
  const token = deps.config.metricsToken;
  if (token === undefined) return app;
  app.get("/metrics", bearerAuth({ token, realm: "metrics" }), (c) => {
    c.header("Cache-Control", "no-store");
    return c.body(deps.cache.metrics.render(), 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });
  return app;
}
