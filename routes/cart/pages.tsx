import { type Context, Hono } from "hono";
import type { VNode } from "preact";
import {
  addCartItem,
  type Cart,
  getCart,
  removeCartItem,
  setCartItemQuantity,
  summarizeCart,
} from "../../db/carts.ts";
import type { Database } from "../../db/client.ts";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import type { CheckoutConfig } from "../../edge/platform/config.ts";
import { toCartView } from "../../islands/cart_client.ts";
import CartView from "../../islands/CartView.tsx";
import { csrfProtection } from "../account/flows.ts";
import { describeClientError } from "../errors.ts";
import { Island } from "../ui/island.tsx";
import type { Department } from "../ui/navigation.ts";
import { Breadcrumbs, Layout } from "../ui/pages.tsx";
import { renderPage } from "../ui/render.tsx";
import { parseWith } from "../validation.ts";
import { cartInputSchemas, formNumber, parseVariantParam } from "./input.ts";
import type { CartSessions } from "./session.ts";
import type { ProxySettings } from "../../edge/http/proxy.ts";

export function CartPage(
  props: {
    cart: Cart;
    maxQuantity: number;
    freeShippingOverMinor?: number;
    message?: string;
    notice?: string;
    departments?: Department[];
  },
): VNode {
  return (
    <Layout title="Your cart" departments={props.departments}>
      <section class="cart-page" aria-labelledby="cart-title">
        <Breadcrumbs trail={[{ href: "/", label: "Home" }, { label: "Cart" }]} />
        <h1 id="cart-title">Your cart</h1>
        {props.notice && (
          <p class="notice" role="status" data-testid="cart-notice">{props.notice}</p>
        )}
        {props.message && <p class="alert" role="alert">{props.message}</p>}
        <Island name="CartView">
          <CartView
            cart={toCartView(props.cart)}
            maxQuantity={props.maxQuantity}
            freeShippingOverMinor={props.freeShippingOverMinor}
          />
        </Island>
      </section>
    </Layout>
  );
}

/** `/cart` and the form posts behind it; each post answers 303 back to `/cart`. */
export function cartPages(
  deps: {
    database: Database;
    auth: Auth;
    config: { http: ProxySettings };
    carts: CartSessions;
    checkout?: CheckoutConfig;
    departments?: () => Promise<Department[]>;
  },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const { database, carts } = deps;
  // The lowest free-shipping threshold of a method that otherwise costs something.
  const thresholds = (deps.checkout?.shippingOptions ?? [])
    .filter((option) => option.priceMinor > 0 && option.freeOverMinor !== undefined)
    .map((option) => option.freeOverMinor!);
  const freeShippingOverMinor = thresholds.length > 0 ? Math.min(...thresholds) : undefined;
  const schemas = cartInputSchemas(carts.limits);
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use("/cart/*", csrfProtection(deps), authenticate(deps.auth)); // also matches /cart

  async function show(c: Context<AuthEnv & ReadYourWritesEnv>, extra: PageMessage = {}) {
    const cartId = await carts.resolve(c, { create: false });
    const reader = database.readerFor({ recentWrite: c.var.recentWrite === true });
    const [cart, departments] = await Promise.all([
      cartId
        ? getCart(extra.status ? database.writer : reader, cartId, carts.limits)
        : summarizeCart(undefined, []),
      deps.departments?.().catch(() => undefined),
    ]);
    const notice = c.req.query("added") ? "Added to your cart." : undefined;
    return renderPage(
      c,
      CartPage({
        cart,
        maxQuantity: carts.limits.maxQuantity,
        freeShippingOverMinor,
        notice,
        departments,
        ...extra,
      }),
      extra.status ?? 200,
    );
  }

  /** Runs a change; a client error is shown on the cart page with its status, not a bare 4xx. */
  async function change(
    c: Context<AuthEnv & ReadYourWritesEnv>,
    run: () => Promise<Cart>,
    redirectTo = "/cart",
  ) {
    try {
      carts.changed(c, await run());
      return c.redirect(redirectTo, 303);
    } catch (error) {
      const failure = describeClientError(error);
      if (!failure) throw error;
      for (const [name, value] of Object.entries(failure.headers)) c.header(name, value);
      return await show(c, { message: failure.message, status: failure.status });
    }
  }

  app.get("/cart", (c) => show(c));

  app.post("/cart/items", async (c) => {
    const form = await c.req.parseBody();
    return await change(c, async () => {
      const item = parseWith(schemas.add, {
        variantId: formNumber(form.variant_id ?? ""),
        quantity: formNumber(form.quantity),
      });
      const cartId = (await carts.resolve(c, { create: true }))!;
      return await addCartItem(database.writer, cartId, item, carts.limits);
    }, `/cart?added=1`);
  });

  app.post("/cart/items/:variantId", async (c) => {
    const form = await c.req.parseBody();
    return await change(c, async () => {
      const variantId = parseVariantParam(schemas, c.req.param("variantId"));
      const { quantity } = parseWith(schemas.update, { quantity: formNumber(form.quantity ?? "") });
      const cartId = await carts.resolve(c, { create: false });
      return await setCartItemQuantity(
        database.writer,
        cartId ?? "",
        { variantId, quantity },
        carts.limits,
      );
    });
  });

  app.post("/cart/items/:variantId/remove", (c) =>
    change(c, async () => {
      const variantId = parseVariantParam(schemas, c.req.param("variantId"));
      const cartId = await carts.resolve(c, { create: false });
      return await removeCartItem(database.writer, cartId ?? "", variantId, carts.limits);
    }));

  return app;
}

type PageMessage = { message?: string; status?: number };
