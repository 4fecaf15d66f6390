import { Hono } from "hono";
import {
  addCartItem,
  clearCart,
  getCart,
  removeCartItem,
  setCartItemQuantity,
  summarizeCart,
} from "../../db/carts.ts";
import type { Database } from "../../db/client.ts";
import type { Auth } from "../../edge/auth/auth.ts";
import { authenticate, type AuthEnv } from "../../edge/auth/middleware.ts";
import type { ReadYourWritesEnv } from "../../edge/http/read_your_writes.ts";
import { csrfProtection } from "../account/flows.ts";
import { parseJsonBody } from "../validation.ts";
import { cartInputSchemas, parseVariantParam } from "./input.ts";
import type { CartSessions } from "./session.ts";
import type { ProxySettings } from "../../edge/http/proxy.ts";

/** The cart over JSON: `GET/DELETE /api/cart`, `POST /api/cart/items`, `PATCH/DELETE …/:variantId`. */
export function cartApi(
  deps: { database: Database; auth: Auth; config: { http: ProxySettings }; carts: CartSessions },
): Hono<AuthEnv & ReadYourWritesEnv> {
  const { database, carts } = deps;
  const schemas = cartInputSchemas(carts.limits);
  const app = new Hono<AuthEnv & ReadYourWritesEnv>();
  app.use(csrfProtection(deps), authenticate(deps.auth));

  app.get("/", async (c) => {
    const cartId = await carts.resolve(c, { create: false });
    if (!cartId) return c.json(summarizeCart(undefined, []));
    const reader = database.readerFor({ recentWrite: c.var.recentWrite === true });
    return c.json(await getCart(reader, cartId, carts.limits));
  });

  app.delete("/", async (c) => {
    const cartId = await carts.resolve(c, { create: false });
    const cart = cartId ? await clearCart(database.writer, cartId) : summarizeCart(undefined, []);
    carts.changed(c, cart);
    return c.json(cart);
  });

  app.post("/items", async (c) => {
    const item = await parseJsonBody(c.req.raw, schemas.add);
    const cartId = (await carts.resolve(c, { create: true }))!;
    const cart = await addCartItem(database.writer, cartId, item, carts.limits);
    carts.changed(c, cart);
    return c.json(cart, 201);
  });

  app.patch("/items/:variantId", async (c) => {
    const variantId = parseVariantParam(schemas, c.req.param("variantId"));
    const { quantity } = await parseJsonBody(c.req.raw, schemas.update);
    const cartId = await carts.resolve(c, { create: false });
    const cart = await setCartItemQuantity(
      database.writer,
      cartId ?? "",
      { variantId, quantity },
      carts.limits,
    );
    carts.changed(c, cart);
    return c.json(cart);
  });

  app.delete("/items/:variantId", async (c) => {
    const variantId = parseVariantParam(schemas, c.req.param("variantId"));
    const cartId = await carts.resolve(c, { create: false });
    const cart = await removeCartItem(database.writer, cartId ?? "", variantId, carts.limits);
    carts.changed(c, cart);
    return c.json(cart);
  });

  return app;
}
