import { Hono } from "hono";
import type { VNode } from "preact";
import type { Database } from "../../db/client.ts";
import type { OrderDetail } from "../../db/orders.ts";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import { formatMoney } from "../../islands/format.ts";
import { SHIPPING_COUNTRIES } from "../checkout/input.ts";
import { Layout } from "../ui/pages.tsx";
import { renderPage } from "../ui/render.tsx";
import { readableOrder } from "./access.ts";
import type { OrderLinks } from "./links.ts";
import { orderReference } from "./mail.ts";

const STATUS_LABELS: Record<OrderDetail["status"], string> = {
  pending: "Received",
  paid: "Paid",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
};

const dateFormat = new Intl.DateTimeFormat("en-US", { dateStyle: "medium", timeStyle: "short" });

export function OrderPage(props: { order: OrderDetail; placed: boolean }): VNode {
  const { order } = props;
  const money = (minor: number) => formatMoney(minor, order.currency);
  const address = order.shippingAddress;
  return (
    <Layout title={`Order ${orderReference(order.id)}`}>
      <section class="order">
        {props.placed && (
          <p class="notice" role="status">
            Thank you! Your order is placed. A confirmation is on its way to {order.email}.
          </p>
        )}
        <h1>Order {orderReference(order.id)}</h1>
        <p>
          Status: <strong>{STATUS_LABELS[order.status]}</strong> · placed{" "}
          {dateFormat.format(order.createdAt)}
        </p>
        <table class="order-items">
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Quantity</th>
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {order.items.map((item) => (
              <tr key={item.variantId}>
                <td>{item.name} ({item.variantName})</td>
                <td>{item.quantity}</td>
                <td>{money(item.lineTotalMinor)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <dl class="totals">
          <dt>Subtotal</dt>
          <dd>{money(order.subtotalMinor)}</dd>
          <dt>Shipping</dt>
          <dd>{money(order.shippingMinor)}</dd>
          <dt>Total</dt>
          <dd>
            <strong>{money(order.totalMinor)}</strong>
          </dd>
        </dl>
        <h2>Shipping to</h2>
        <address>
          {address.name}
          <br />
          {address.line1}
          {address.line2 && (
            <>
              <br />
              {address.line2}
            </>
          )}
          <br />
          {address.postalCode} {address.city}
          {address.region ? `, ${address.region}` : ""}
          <br />
          {SHIPPING_COUNTRIES[address.country] ?? address.country}
        </address>
        <h2>History</h2>
        <ol class="history">
          {order.history.map((entry) => (
            <li key={`${entry.status}-${entry.createdAt}`}>
              {dateFormat.format(entry.createdAt)}: {STATUS_LABELS[entry.status]}
              {entry.note && ` — ${entry.note}`}
            </li>
          ))}
        </ol>
      </section>
    </Layout>
  );
}

/** `/orders/:id?token=…`: the order page, for its account or whoever holds its signed link. */
export function orderPages(
  deps: { database: Database; auth: Auth; orderLinks: OrderLinks },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use("/orders/*", authenticate(deps.auth));
  app.get("/orders/:id", async (c) => {
    const order = await readableOrder(deps, c, c.req.param("id"));
    return renderPage(c, OrderPage({ order, placed: c.req.query("placed") === "1" }));
  });
  return app;
}
