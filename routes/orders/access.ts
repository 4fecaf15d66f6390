/** Who may read an order: its account, an admin, or whoever holds its signed link. */
import type { Context } from "hono";
import type { Database } from "../../db/client.ts";
import { getOrder, type OrderDetail } from "../../db/orders.ts";
import type { AuthUser } from "../../edge/auth/middleware.ts";
import { NotFoundError } from "../../edge/platform/errors.ts";
import type { OrderLinks } from "./links.ts";

const ORDER_ID = /^[0-9a-f-]{36}$/;

/**
 * Loads the order `orderId` for this request, or throws 404 — also when it exists but the
 * request may not read it, so the answer never reveals which orders exist.
 */
export async function readableOrder(
  deps: { database: Database; orderLinks: OrderLinks },
  c: Context,
  orderId: string,
): Promise<OrderDetail> {
  const notFound = new NotFoundError(`Order ${orderId} does not exist`);
  if (!ORDER_ID.test(orderId)) throw notFound;
  const user = c.get("user") as AuthUser | undefined;
  const token = c.req.query("token");
  const byLink = await deps.orderLinks.verify(orderId, token);
  if (!user && !byLink) throw notFound;
  const reader = deps.database.readerFor({ recentWrite: c.get("recentWrite") === true });
  // A replica may not have an order placed a moment ago: the primary has the last word.
  const order = await getOrder(reader, orderId) ??
    (reader === deps.database.writer ? undefined : await getOrder(deps.database.writer, orderId));
  if (!order) throw notFound;
  const owns = user !== undefined && (order.userId === user.id || user.role === "admin");
  if (!owns && !byLink) throw notFound;
  return order;
}
