import { Hono } from "hono";
import type { ReadinessReport } from "../edge/platform/readiness.ts";

/**
 * Liveness (no dependency calls; names the instance that answered, which tells `deno serve
 * --parallel` workers apart) and readiness (cached dependency checks): 200 while this instance
 * can serve (`status` "ok" or "degraded", with what is `down`), 503 when it cannot.
 */
export function healthRoutes(
  deps: { readiness: () => Promise<ReadinessReport>; instance: string },
): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok", instance: deps.instance }));
  app.get("/readyz", async (c) => {
    const report = await deps.readiness();
    c.header("Cache-Control", "no-store");
    return c.json(report, report.ready ? 200 : 503);
  });
  return app;
}
