import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Database } from "../../db/client.ts";
import { getOrder, ORDER_STATUSES, transitionOrder } from "../../db/orders.ts";
import { NotFoundError } from "../../edge/platform/errors.ts";
import { parseJsonBody, parseWith } from "../validation.ts";
import type { OutboxWorker } from "./outbox_worker.ts";

const orderId = z.object({
  id: z.string().regex(/^[0-9a-f-]{36}$/, { error: "must be an order id" }),
});

const transitionBody = z.strictObject({
  status: z.enum(ORDER_STATUSES.filter((s) => s !== "pending") as [string, ...string[]], {
    error: "must be one of paid, shipped, delivered, cancelled",
  }),
  note: z.string().trim().max(500, { error: "must be at most 500 characters" }).optional(),
});

/**
 * Admin order management: `GET /api/admin/orders/:id` and `POST /api/admin/orders/:id/status`
 * (`{ "status": "shipped", "note": "…" }`), which follows the state machine in db/orders.ts.
 */
export function adminOrdersApi(
  deps: { database: Database; outbox: OutboxWorker; guard: MiddlewareHandler },
): Hono {
  const app = new Hono();
  app.use("*", deps.guard);

  app.get("/:id", async (c) => {
    const { id } = parseWith(orderId, { id: c.req.param("id") });
    const order = await getOrder(deps.database.writer, id);
    if (!order) throw new NotFoundError(`Order ${id} does not exist`);
    return c.json({ order });
  });

  app.post("/:id/status", async (c) => {
    const { id } = parseWith(orderId, { id: c.req.param("id") });
    const { status, note } = await parseJsonBody(c.req.raw, transitionBody);
    const order = await transitionOrder(
      deps.database.writer,
      id,
      status as (typeof ORDER_STATUSES)[number],
      { note },
    );
    deps.outbox.wake();
    return c.json({ order });
  });

  return app;
}
