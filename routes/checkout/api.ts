import { Hono } from "hono";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import type { PaymentProvider } from "../../edge/payments/payments.ts";
import { csrfProtection } from "../account/flows.ts";
import type { OrderLinks } from "../orders/links.ts";
import { parseJsonBody } from "../validation.ts";
import { checkOut, type CheckoutDeps } from "./flow.ts";
import { checkoutSchema, parseIdempotencyKey, SHIPPING_COUNTRIES } from "./input.ts";
import type { ProxySettings } from "../../edge/http/proxy.ts";

/** `POST /api/checkout` (requires `Idempotency-Key`) and `GET /api/checkout/options`. */
export function checkoutApi(
  deps: CheckoutDeps & {
    auth: Auth;
    config: { http: ProxySettings };
    payments: PaymentProvider;
    orderLinks: OrderLinks;
  },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const schema = checkoutSchema({
    shippingOptions: deps.checkout.shippingOptions,
    paymentMethods: deps.payments.methods,
  });
  const options = JSON.stringify({
    shippingOptions: deps.checkout.shippingOptions,
    paymentMethods: deps.payments.methods,
    countries: Object.entries(SHIPPING_COUNTRIES).map(([code, name]) => ({ code, name })),
  });
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use(csrfProtection(deps), authenticate(deps.auth));

  app.get("/options", (c) => c.body(options, 200, { "Content-Type": "application/json" }));

  app.post("/", async (c) => {
    const key = parseIdempotencyKey(c.req.header("idempotency-key"));
    const input = await parseJsonBody(c.req.raw, schema);
    const { order, replayed } = await checkOut(deps, c, input, key);
    if (replayed) c.header("Idempotent-Replayed", "true");
    c.header("Location", `/api/orders/${order.id}`);
    const token = await deps.orderLinks.token(order.id);
    const links = {
      page: `/orders/${order.id}?token=${token}`,
      api: `/api/orders/${order.id}?token=${token}`,
    };
    return c.json({ order, links }, 201);
  });

  return app;
}
