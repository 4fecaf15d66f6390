import { Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Database } from "../db/client.ts";
import { countOutboxRows } from "../db/outbox.ts";
import type { CacheMetrics } from "../edge/cache/metrics.ts";
import type { CapacityMetrics } from "../edge/platform/capacity_metrics.ts";

/**
 * `GET /metrics` in the Prometheus text format (cache counters, capacity, the outbox's backlog),
 * for a scraper holding `METRICS_TOKEN` (compared in constant time by hono's bearer-auth).
 * Without a configured token the route does not exist (404): counters describe traffic and cache
 * behaviour, nothing a stranger needs, and Deno Deploy offers no second, private listener to put
 * them on.
 */
export function metricsRoutes(
  deps: {
    cache: { metrics: CacheMetrics };
    config: { metricsToken?: string };
    capacity?: CapacityMetrics;
    database?: Database;
  },
): Hono {
  const app = new Hono();
  const token = deps.config.metricsToken;
  if (token === undefined) return app;
  app.get("/metrics", bearerAuth({ token, realm: "metrics" }), async (c) => {
    c.header("Cache-Control", "no-store");
    const text = deps.cache.metrics.render() + (deps.capacity?.render() ?? "") +
      await outboxMetrics(deps.database);
    return c.body(text, 200, {
      "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });
  return app;
}

/** Outbox rows waiting and dead-lettered (dead ones need an operator); empty if unreadable. */
async function outboxMetrics(database: Database | undefined): Promise<string> {
  if (!database) return "";
  try {
    const counts = await countOutboxRows(database.reader);
    return [
      "# HELP shop_outbox_rows Outbox rows by state; dead rows were given up on and need a look",
      "# TYPE shop_outbox_rows gauge",
      `shop_outbox_rows{state="pending"} ${counts.pending}`,
      `shop_outbox_rows{state="dead"} ${counts.dead}`,
      "",
    ].join("\n");
  } catch {
    return "";
  }
}
