import { Hono } from "hono";
import type { Database } from "../../db/client.ts";
import { recordPayment } from "../../db/orders.ts";
import type { PaymentProvider } from "../../edge/payments/payments.ts";
import type { OutboxWorker } from "../orders/outbox_worker.ts";

/**
 * `POST /api/payments/webhook`: the provider reports a payment. The signature is checked over
 * the raw body before anything is parsed; the event id is remembered in the transaction that
 * marks the order paid, so a replayed delivery is refused (409) and changes nothing.
 */
export function paymentWebhook(
  deps: { database: Database; payments: PaymentProvider; outbox: OutboxWorker },
): Hono {
  const app = new Hono();
  app.post("/webhook", async (c) => {
    const event = await deps.payments.verifyWebhook(await c.req.text(), c.req.raw.headers);
    const order = await recordPayment(deps.database.writer, event);
    deps.outbox.wake();
    c.header("Cache-Control", "no-store");
    return c.json({ received: true, orderId: order.id, status: order.status });
  });
  return app;
}
