import { type Context, Hono } from "hono";
import { z } from "zod";
import { getProductThumbnails } from "../../db/catalog.ts";
import type { Database, Db } from "../../db/client.ts";
import { getOrder, listOrders, type OrderDetail } from "../../db/orders.ts";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import type { PaymentProvider } from "../../edge/payments/payments.ts";
import type { CheckoutConfig } from "../../edge/platform/config.ts";
import { NotFoundError } from "../../edge/platform/errors.ts";
import { AccountShell } from "../account/account_shell.tsx";
import { pageShopperId } from "../account/page_shopper.ts";
import type { CartSessions } from "../cart/session.ts";
import type { Department } from "../ui/navigation.ts";
import { renderPage } from "../ui/render.tsx";
import { parseWith } from "../validation.ts";
import { readableOrder } from "./access.ts";
import type { OrderLinks } from "./links.ts";
import { OrderCard, OrderPage, type OrderPageProps } from "./order_page.tsx";

/** Orders on one page of the account's order history. */
export const ORDER_HISTORY_PAGE = 10;

const ORDER_ID = /^[0-9a-f-]{36}$/;
const historyQuery = z.object({ cursor: z.string().max(200).optional() });

export interface OrderPagesDeps {
  database: Database;
  auth: Auth;
  orderLinks: OrderLinks;
  carts: CartSessions;
  config: { checkout: CheckoutConfig };
  payments: PaymentProvider;
  departments?: () => Promise<Department[]>;
}

type PageContext = Context<AuthEnv & ReadYourWritesEnv>;

/**
 * The shopper's order pages: `/orders/:id?token=…` (the signed link from checkout and the mail,
 * guests included), and for the signed-in account `/account/orders` (the history, in cursor
 * pages) and `/account/orders/:id` (one order with its tracking).
 */
export function orderPages(deps: OrderPagesDeps): Hono<AuthEnv & ReadYourWritesEnv> {
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use("/orders/*", authenticate(deps.auth));
  app.use("/account/orders/*", authenticate(deps.auth)); // also matches /account/orders

  app.get("/orders/:id", async (c) => {
    const order = await readableOrder(deps, c, c.req.param("id"));
    const shopper = await pageShopperId(c, deps.carts);
    const reader = shopper === undefined
      ? "guest"
      : order.userId === shopper
      ? "owner"
      : "signed-in";
    return await showOrder(c, order, { inAccount: false, reader });
  });

  app.get("/account/orders", async (c) => {
    const userId = await pageShopperId(c, deps.carts);
    if (!userId) return signInFirst(c);
    const { cursor } = parseWith(historyQuery, c.req.query());
    const reader = readerOf(c);
    const [page, departments] = await Promise.all([
      listOrders(reader, userId, { limit: ORDER_HISTORY_PAGE, cursor }),
      menu(),
    ]);
    const thumbnails = await getProductThumbnails(
      reader,
      page.items.flatMap((order) => order.items.slice(0, 4).map((item) => item.productId)),
    );
    return renderPage(
      c,
      <AccountShell tab="orders" title="Your orders" heading="Orders" departments={departments}>
        {page.items.length === 0
          ? (
            <div class="empty-state" data-testid="no-orders">
              <p>
                <strong>{cursor ? "No older orders." : "No orders yet."}</strong>
              </p>
              <p class="actions">
                <a class="button button-primary" href="/">Start shopping</a>
              </p>
            </div>
          )
          : (
            <ul class="order-list">
              {page.items.map((order) => (
                <OrderCard key={order.id} order={order} thumbnails={thumbnails} heading="h2" />
              ))}
            </ul>
          )}
        {(cursor || page.nextCursor) && (
          <nav class="pager" aria-label="Order pages">
            {cursor && <a class="button button-secondary" href="/account/orders">Newest orders</a>}
            {page.nextCursor && (
              <a
                class="button button-secondary"
                rel="next"
                href={`/account/orders?cursor=${encodeURIComponent(page.nextCursor)}`}
              >
                Older orders
              </a>
            )}
          </nav>
        )}
      </AccountShell>,
    );
  });

  app.get("/account/orders/:id", async (c) => {
    const userId = await pageShopperId(c, deps.carts);
    if (!userId) return signInFirst(c);
    const orderId = c.req.param("id");
    const notFound = new NotFoundError(`Order ${orderId} does not exist`);
    if (!ORDER_ID.test(orderId)) throw notFound;
    // A replica may not have an order placed a moment ago: the primary has the last word.
    const reader = readerOf(c);
    const order = await getOrder(reader, orderId) ??
      (reader === deps.database.writer ? undefined : await getOrder(deps.database.writer, orderId));
    if (!order || order.userId !== userId) throw notFound;
    return await showOrder(c, order, { inAccount: true, reader: "owner" });
  });

  function readerOf(c: PageContext): Db {
    return deps.database.readerFor({ recentWrite: c.var.recentWrite === true });
  }

  function menu() {
    return deps.departments?.().catch(() => undefined) ?? Promise.resolve(undefined);
  }

  async function showOrder(
    c: PageContext,
    order: OrderDetail,
    view: Pick<OrderPageProps, "inAccount" | "reader">,
  ) {
    const [thumbnails, departments] = await Promise.all([
      getProductThumbnails(readerOf(c), order.items.map((item) => item.productId)),
      menu(),
    ]);
    return renderPage(
      c,
      <OrderPage
        order={order}
        thumbnails={thumbnails}
        shippingOptions={deps.config.checkout.shippingOptions}
        paymentMethods={deps.payments.methods}
        placed={c.req.query("placed") === "1"}
        departments={departments}
        {...view}
      />,
    );
  }

  return app;
}

function signInFirst(c: PageContext) {
  return c.redirect(`/account/login?next=${encodeURIComponent(c.req.path)}`, 303);
}
