import { Hono } from "hono";
import type { ReadinessReport } from "../edge/platform/readiness.ts";

/**
 * Liveness (no dependency calls) and readiness (cached dependency checks): 200 while this
 * instance can serve (`status` "ok" or "degraded", with what is `down`), 503 when it cannot.
 */
export function healthRoutes(deps: { readiness: () => Promise<ReadinessReport> }): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const report = await deps.readiness();
    c.header("Cache-Control", "no-store");
    return c.json(report, report.ready ? 200 : 503);
  });
  return app;
}
