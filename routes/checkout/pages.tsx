import { type Context, Hono } from "hono";
import type { VNode } from "preact";
import { type Cart, getCart, userIdOfCart } from "../../db/carts.ts";
import { getUserById } from "../../db/users.ts";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import type { PaymentMethod, PaymentProvider } from "../../edge/payments/payments.ts";
import type { ShippingOption } from "../../edge/platform/config.ts";
import { formatMoney } from "../../islands/format.ts";
import { csrfProtection } from "../account/flows.ts";
import { describeClientError } from "../errors.ts";
import type { OrderLinks } from "../orders/links.ts";
import { Layout } from "../ui/pages.tsx";
import { renderPage } from "../ui/render.tsx";
import { checkOut, type CheckoutDeps } from "./flow.ts";
import { checkoutSchema, SHIPPING_COUNTRIES } from "./input.ts";

/** The form's fields, as typed (strings), so a refused form comes back filled in. */
type FormValues = Record<(typeof FIELDS)[number], string>;

const FIELDS = [
  "email",
  "name",
  "line1",
  "line2",
  "city",
  "region",
  "postal_code",
  "country",
  "phone",
  "shipping_option",
  "payment_method",
  "idempotency_key",
] as const;

/** Labels for the fields a validation error may name. */
const LABELS: Record<string, string> = {
  email: "Email",
  "shippingAddress.name": "Full name",
  "shippingAddress.line1": "Address",
  "shippingAddress.line2": "Address line 2",
  "shippingAddress.city": "City",
  "shippingAddress.region": "State or region",
  "shippingAddress.postalCode": "Postal code",
  "shippingAddress.country": "Country",
  "shippingAddress.phone": "Phone",
  shippingOption: "Shipping",
  paymentMethod: "Payment",
};

interface CheckoutPageProps {
  cart: Cart;
  values: FormValues;
  shippingOptions: readonly ShippingOption[];
  paymentMethods: readonly PaymentMethod[];
  /** The signed-in account's email, when the cart is an account's. */
  accountEmail?: string;
  message?: string;
}

export function CheckoutPage(props: CheckoutPageProps): VNode {
  const { cart, values } = props;
  const field = (name: keyof FormValues, label: string, attrs: Record<string, unknown> = {}) => (
    <label>
      {label} <input name={name} value={values[name]} {...attrs} />
    </label>
  );
  return (
    <Layout title="Checkout">
      <section class="checkout">
        <h1>Checkout</h1>
        {props.message && <p class="error" role="alert">{props.message}</p>}
        <OrderReview cart={cart} />
        <form method="post" action="/checkout">
          <input type="hidden" name="idempotency_key" value={values.idempotency_key} />
          <fieldset>
            <legend>Contact</legend>
            {props.accountEmail
              ? <p>Ordering as {props.accountEmail}</p>
              : field("email", "Email", { type: "email", required: true, autocomplete: "email" })}
          </fieldset>
          <fieldset>
            <legend>Shipping address</legend>
            {field("name", "Full name", { required: true, autocomplete: "name" })}
            {field("line1", "Address", { required: true, autocomplete: "address-line1" })}
            {field("line2", "Address line 2 (optional)", { autocomplete: "address-line2" })}
            {field("city", "City", { required: true, autocomplete: "address-level2" })}
            {field("region", "State or region (optional)", { autocomplete: "address-level1" })}
            {field("postal_code", "Postal code", { required: true, autocomplete: "postal-code" })}
            <label>
              Country{" "}
              <select name="country" required autocomplete="country">
                {Object.entries(SHIPPING_COUNTRIES).map(([code, name]) => (
                  <option key={code} value={code} selected={values.country === code}>{name}</option>
                ))}
              </select>
            </label>
            {field("phone", "Phone (optional)", { type: "tel", autocomplete: "tel" })}
          </fieldset>
          <fieldset>
            <legend>Shipping</legend>
            {props.shippingOptions.map((option) => (
              <label key={option.id}>
                <input
                  type="radio"
                  name="shipping_option"
                  value={option.id}
                  checked={values.shipping_option === option.id}
                  required
                />{" "}
                {option.label} — {shippingPrice(option, cart)}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Payment</legend>
            {props.paymentMethods.map((method) => (
              <label key={method.id}>
                <input
                  type="radio"
                  name="payment_method"
                  value={method.id}
                  checked={values.payment_method === method.id}
                />{" "}
                {method.label}: {method.description}
              </label>
            ))}
          </fieldset>
          <button type="submit">Place order</button>
        </form>
      </section>
    </Layout>
  );
}

function shippingPrice(option: ShippingOption, cart: Cart): string {
  if (option.priceMinor === 0) return "free";
  if (option.freeOverMinor !== undefined && cart.subtotalMinor >= option.freeOverMinor) {
    return "free on this order";
  }
  const price = formatMoney(option.priceMinor, cart.currency);
  return option.freeOverMinor === undefined
    ? price
    : `${price}, free over ${formatMoney(option.freeOverMinor, cart.currency)}`;
}

function OrderReview({ cart }: { cart: Cart }): VNode {
  return (
    <section class="review" aria-label="Order summary">
      <ul>
        {cart.lines.map((line) => (
          <li key={line.variantId}>
            {line.quantity} × {line.productName} ({line.variantName}) —{" "}
            {formatMoney(line.lineTotalMinor, line.currency)}
          </li>
        ))}
      </ul>
      {cart.warnings.map((w) => <p key={w.variantId} class="warning">{w.message}</p>)}
      <p>
        Subtotal: <strong>{formatMoney(cart.subtotalMinor, cart.currency)}</strong>{" "}
        (shipping is added below)
      </p>
      <p>
        <a href="/cart">Edit cart</a>
      </p>
    </section>
  );
}

/** `/checkout`: the form (no JavaScript needed) and its post, which redirects to the order. */
export function checkoutPages(
  deps: CheckoutDeps & { auth: Auth; payments: PaymentProvider; orderLinks: OrderLinks },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const { database, carts } = deps;
  const schema = checkoutSchema({
    shippingOptions: deps.checkout.shippingOptions,
    paymentMethods: deps.payments.methods,
  });
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use("/checkout", csrfProtection(deps.auth), authenticate(deps.auth));

  async function show(
    c: Context<AuthEnv & ReadYourWritesEnv>,
    values: FormValues,
    failure?: { message: string; status: number },
  ) {
    const cartId = await carts.resolve(c, { create: false });
    if (!cartId) return c.redirect("/cart", 303);
    const reader = failure ? database.writer : database.readerFor({
      recentWrite: c.var.recentWrite === true,
    });
    const userId = c.var.user?.id ?? userIdOfCart(cartId);
    const [cart, account] = await Promise.all([
      getCart(reader, cartId, carts.limits),
      userId ? getUserById(reader, userId) : undefined,
    ]);
    if (cart.lines.length === 0) return c.redirect("/cart", 303);
    const page = CheckoutPage({
      cart,
      values,
      shippingOptions: deps.checkout.shippingOptions,
      paymentMethods: deps.payments.methods,
      accountEmail: account?.email,
      message: failure?.message,
    });
    return renderPage(c, page, failure?.status ?? 200);
  }

  app.get("/checkout", (c) => show(c, emptyValues(deps)));

  app.post("/checkout", async (c) => {
    const values = formValues(await c.req.parseBody());
    const parsed = schema.safeParse(toInput(values));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue.path.join(".");
      return await show(c, values, {
        message: `${LABELS[path] ?? path} ${issue.message}.`,
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
      return await show(c, values, failure);
    }
  });

  return app;
}

function emptyValues(deps: CheckoutDeps & { payments: PaymentProvider }): FormValues {
  const values = Object.fromEntries(FIELDS.map((name) => [name, ""])) as FormValues;
  values.country = "US";
  values.shipping_option = deps.checkout.shippingOptions[0].id;
  values.payment_method = deps.payments.methods[0].id;
  // One key per rendered form: a double submit replays the first order instead of a second.
  values.idempotency_key = crypto.randomUUID();
  return values;
}

function formValues(form: Record<string, unknown>): FormValues {
  return Object.fromEntries(
    FIELDS.map((name) => [name, typeof form[name] === "string" ? form[name] as string : ""]),
  ) as FormValues;
}

function toInput(values: FormValues) {
  return {
    email: values.email || undefined,
    shippingAddress: {
      name: values.name,
      line1: values.line1,
      line2: values.line2,
      city: values.city,
      region: values.region,
      postalCode: values.postal_code,
      country: values.country,
      phone: values.phone,
    },
    shippingOption: values.shipping_option,
    paymentMethod: values.payment_method || undefined,
  };
}
