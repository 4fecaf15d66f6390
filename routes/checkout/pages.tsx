import { type Context, Hono } from "hono";
import { getCart, userIdOfCart } from "../../db/carts.ts";
import { getUserById } from "../../db/users.ts";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import type { PaymentProvider } from "../../edge/payments/payments.ts";
import {
  CHECKOUT_FIELDS,
  checkoutBody,
  type CheckoutFormValues,
  fieldForPath,
  fieldMessage,
  IDEMPOTENCY_FIELD,
} from "../../islands/checkout_form.ts";
import { csrfProtection } from "../account/flows.ts";
import { describeClientError } from "../errors.ts";
import type { OrderLinks } from "../orders/links.ts";
import type { Department } from "../ui/navigation.ts";
import { renderPage } from "../ui/render.tsx";
import { type CheckoutFailure, CheckoutPage } from "./checkout_page.tsx";
import { checkOut, type CheckoutDeps } from "./flow.ts";
import { checkoutSchema } from "./input.ts";
import type { ProxySettings } from "../../edge/http/proxy.ts";

const FIELD_NAMES = [...CHECKOUT_FIELDS.map((field) => field.name), IDEMPOTENCY_FIELD];

/** `/checkout`: the form (no JavaScript needed) and its post, which redirects to the order. */
export function checkoutPages(
  deps: CheckoutDeps & {
    auth: Auth;
    config: { http: ProxySettings };
    payments: PaymentProvider;
    orderLinks: OrderLinks;
    departments?: () => Promise<Department[]>;
  },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const { database, carts } = deps;
  const schema = checkoutSchema({
    shippingOptions: deps.checkout.shippingOptions,
    paymentMethods: deps.payments.methods,
  });
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use("/checkout", csrfProtection(deps), authenticate(deps.auth));

  async function show(
    c: Context<AuthEnv & ReadYourWritesEnv>,
    values: CheckoutFormValues,
    failure?: CheckoutFailure & { status: number },
  ) {
    const cartId = await carts.resolve(c, { create: false });
    if (!cartId) return c.redirect("/cart", 303);
    const reader = failure ? database.writer : database.readerFor({
      recentWrite: c.var.recentWrite === true,
    });
    const userId = c.var.user?.id ?? userIdOfCart(cartId);
    const [cart, account, departments] = await Promise.all([
      getCart(reader, cartId, carts.limits),
      userId ? getUserById(reader, userId) : undefined,
      deps.departments?.().catch(() => undefined),
    ]);
    if (cart.lines.length === 0) return c.redirect("/cart", 303);
    if (account?.name && !values.name) values.name = account.name;
    const page = CheckoutPage({
      cart,
      values,
      shippingOptions: deps.checkout.shippingOptions,
      paymentMethods: deps.payments.methods,
      accountEmail: account?.email,
      failure,
      departments,
    });
    return renderPage(c, page, failure?.status ?? 200);
  }

  app.get("/checkout", (c) => show(c, emptyValues(deps)));

  app.post("/checkout", async (c) => {
    const values = formValues(await c.req.parseBody());
    const parsed = schema.safeParse(checkoutBody(values));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue.path.join(".");
      return await show(c, values, {
        message: fieldMessage(path, issue.message),
        field: fieldForPath(path)?.name,
        status: 400,
      });
    }
    try {
      const key = values.idempotency_key || crypto.randomUUID();
      const { order } = await checkOut(deps, c, parsed.data, key);
      return c.redirect(`${await deps.orderLinks.pagePath(order.id)}&placed=1`, 303);
    } catch (error) {
      const failure = describeClientError(error);
      if (!failure) throw error;
      for (const [name, value] of Object.entries(failure.headers)) c.header(name, value);
      const field = fieldForPath(failure.field);
      return await show(c, values, {
        message: field ? fieldMessage(field.path, failure.message) : failure.message,
        field: field?.name,
        cart: failure.field === "cart",
        status: failure.status,
      });
    }
  });

  return app;
}

function emptyValues(deps: CheckoutDeps & { payments: PaymentProvider }): CheckoutFormValues {
  const values = formValues({});
  values.country = "US";
  values.shipping_option = deps.checkout.shippingOptions[0].id;
  values.payment_method = deps.payments.methods[0].id;
  // One key per rendered form: a double submit replays the first order instead of a second.
  values.idempotency_key = crypto.randomUUID();
  return values;
}

function formValues(form: Record<string, unknown>): CheckoutFormValues {
  return Object.fromEntries(
    FIELD_NAMES.map((name) => [name, typeof form[name] === "string" ? form[name] as string : ""]),
  ) as CheckoutFormValues;
}
