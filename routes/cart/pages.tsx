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
import { formatMoney } from "../../islands/format.ts";
import { csrfProtection } from "../account/flows.ts";
import { describeClientError } from "../errors.ts";
import { Layout } from "../ui/pages.tsx";
import { renderPage } from "../ui/render.tsx";
import { parseWith } from "../validation.ts";
import { cartInputSchemas, formNumber, parseVariantParam } from "./input.ts";
import type { CartSessions } from "./session.ts";

export function CartPage(
  props: { cart: Cart; maxQuantity: number; message?: string; notice?: string },
): VNode {
  const { cart } = props;
  return (
    <Layout title="Your cart">
      <section class="cart">
        <h1>Your cart</h1>
        {props.notice && <p class="notice" role="status">{props.notice}</p>}
        {props.message && <p class="error" role="alert">{props.message}</p>}
        {cart.warnings.length > 0 && (
          <ul class="warnings" aria-label="Cart warnings">
            {cart.warnings.map((w) => <li key={w.variantId} class="warning">{w.message}</li>)}
          </ul>
        )}
        {cart.lines.length === 0 ? <EmptyCart /> : (
          <>
            <CartTable cart={cart} maxQuantity={props.maxQuantity} />
            <p class="subtotal">
              Subtotal ({cart.itemCount} {cart.itemCount === 1 ? "item" : "items"}):{" "}
              <strong>{formatMoney(cart.subtotalMinor, cart.currency)}</strong>
            </p>
            <p>
              <a class="button" href="/checkout">Check out</a>
            </p>
          </>
        )}
      </section>
    </Layout>
  );
}

function EmptyCart(): VNode {
  return (
    <p class="empty">
      Your cart is empty. <a href="/">Continue shopping</a>
    </p>
  );
}

function CartTable(props: { cart: Cart; maxQuantity: number }): VNode {
  return (
    <table class="cart-lines">
      <thead>
        <tr>
          <th scope="col">Item</th>
          <th scope="col">Price</th>
          <th scope="col">Quantity</th>
          <th scope="col">Total</th>
          <th scope="col">
            <span class="visually-hidden">Remove</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.cart.lines.map((line) => (
          <tr key={line.variantId}>
            <td>
              <a href={`/p/${line.slug}`}>{line.productName}</a>
              <br />
              <span class="muted">{line.variantName}</span>
            </td>
            <td>{formatMoney(line.priceMinor, line.currency)}</td>
            <td>
              <form method="post" action={`/cart/items/${line.variantId}`}>
                <label>
                  <span class="visually-hidden">Quantity of {line.productName}</span>
                  <input
                    type="number"
                    name="quantity"
                    min={1}
                    max={props.maxQuantity}
                    value={line.quantity}
                    inputMode="numeric"
                    required
                  />
                </label>
                <button type="submit">Update</button>
              </form>
            </td>
            <td>{formatMoney(line.lineTotalMinor, line.currency)}</td>
            <td>
              <form method="post" action={`/cart/items/${line.variantId}/remove`}>
                <button type="submit" aria-label={`Remove ${line.productName}`}>Remove</button>
              </form>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `/cart` and the form posts behind it; each post answers 303 back to `/cart`. */
export function cartPages(
  deps: { database: Database; auth: Auth; carts: CartSessions },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const { database, carts } = deps;
  const schemas = cartInputSchemas(carts.limits);
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use("/cart/*", csrfProtection(deps.auth), authenticate(deps.auth)); // also matches /cart

  async function show(c: Context<AuthEnv & ReadYourWritesEnv>, extra: PageMessage = {}) {
    const cartId = await carts.resolve(c, { create: false });
    const reader = database.readerFor({ recentWrite: c.var.recentWrite === true });
    const cart = cartId
      ? await getCart(extra.status ? database.writer : reader, cartId, carts.limits)
      : summarizeCart(undefined, []);
    const notice = c.req.query("added") ? "Added to your cart." : undefined;
    return renderPage(
      c,
      CartPage({ cart, maxQuantity: carts.limits.maxQuantity, notice, ...extra }),
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
