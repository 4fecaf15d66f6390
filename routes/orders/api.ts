import { Hono } from "hono";
import { z } from "zod";
import type { Database } from "../../db/client.ts";
import { listOrders, MAX_ORDER_PAGE } from "../../db/orders.ts";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv, requireUser } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import { parseWith } from "../validation.ts";
import { readableOrder } from "./access.ts";
import type { OrderLinks } from "./links.ts";

const listQuery = z.strictObject({
  limit: z.string().regex(/^\d{1,3}$/, { error: `must be from 1 to ${MAX_ORDER_PAGE}` })
    .transform(Number).pipe(
      z.number().min(1, { error: `must be from 1 to ${MAX_ORDER_PAGE}` }).max(MAX_ORDER_PAGE, {
        error: `must be from 1 to ${MAX_ORDER_PAGE}`,
      }),
    ).optional(),
  cursor: z.string().max(200).optional(),
});

/** The shopper's orders: `GET /api/orders` (signed in) and `GET /api/orders/:id` (owner or link). */
export function ordersApi(
  deps: { database: Database; auth: Auth; orderLinks: OrderLinks },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use(authenticate(deps.auth));

  app.get("/", requireUser(), async (c) => {
    const query = parseWith(listQuery, c.req.query());
    const reader = deps.database.readerFor({ recentWrite: c.var.recentWrite === true });
    const page = await listOrders(reader, c.var.user!.id, {
      limit: query.limit ?? 20,
      cursor: query.cursor,
    });
    return c.json(page);
  });

  app.get("/:id", async (c) => {
    const order = await readableOrder(deps, c, c.req.param("id"));
    return c.json({ order, links: { page: await deps.orderLinks.pagePath(order.id) } });
  });

  return app;
}
