import { Hono } from "hono";
import type { Database } from "../db/client.ts";
import { countOutboxRows } from "../db/outbox.ts";
import type { CacheMetrics } from "../edge/cache/metrics.ts";
import type { CapacityMetrics } from "../edge/platform/capacity_metrics.ts";

/** `GET /metrics` in the Prometheus text format: cache counters, capacity, the outbox's backlog. */
export function metricsRoutes(
  deps: { cache: { metrics: CacheMetrics }; capacity?: CapacityMetrics; database?: Database },
): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => {
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
