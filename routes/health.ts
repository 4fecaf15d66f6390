import { Hono } from "hono";
import type { ReadinessReport } from "../edge/platform/readiness.ts";

/** Liveness (no dependency calls) and readiness (cached dependency checks). */
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
