/**
 * Which cart a request may use, and the cookies that carry it.
 *
 * - `cart`: the cart id in a signed, HttpOnly cookie (`<id>.<HMAC-SHA256>`, signed with the
 *   shop's key imported once; hono's signed-cookie helper re-imports the key on every request,
 *   which cost more than the rest of the cookie handling together). Anonymous
 *   carts are `a:<uuid>`; after sign-in it holds the account's cart `u:<user id>`, so the
 *   server-rendered cart and checkout pages (which see no Bearer token) use the account's cart.
 * - `cart_count`: a small readable cookie with the number of items (at most `999`, which the
 *   badge shows as is), so cached catalog pages can show the cart badge on the client without
 *   being rendered per shopper.
 *
 * A request with a Bearer token always uses its account's cart; an anonymous cart still in the
 * cookie is merged into it (on sign-in, or on the first signed-in request that carries it).
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import {
  type Cart,
  cartIdForUser,
  type CartLimits,
  getCart,
  mergeCarts,
  newAnonymousCartId,
} from "../../db/carts.ts";
import type { Database } from "../../db/client.ts";
import type { AuthUser } from "../../edge/auth/middleware.ts";
import type { CartConfig } from "../../edge/platform/config.ts";
import type { Signer } from "../../edge/platform/signing.ts";
import { CART_COUNT_COOKIE } from "../../islands/cookies.ts";

/** The readable cart-count cookie, named once for the server and the islands. */
export { CART_COUNT_COOKIE };

export const CART_COOKIE = "cart";

const CART_ID = /^(a:[0-9a-f-]{36}|u:[\w-]{1,64})$/;
/** The header's cart badge reads up to three digits. */
const MAX_SHOWN_COUNT = 999;

export interface CartSessions {
  readonly limits: CartLimits;
  /** The request's cart id; a new anonymous cart (and cookie) when `create` and it has none. */
  resolve(c: Context, options: { create: boolean }): Promise<string | undefined>;
  /** Records a changed cart on the response: the readable item count. */
  changed(c: Context, cart: Pick<Cart, "itemCount">): void;
  /** After sign-in: merges the browser's anonymous cart into the account's and keeps that. */
  signedIn(c: Context, userId: string): Promise<void>;
  /** After sign-out: the browser forgets the account's cart. */
  signedOut(c: Context): void;
}

/** Builds the cart session helpers over the shop's signer. */
export function createCartSessions(
  deps: { database: Database; cart: CartConfig; signer: Signer },
): CartSessions {
  const { database, signer } = deps;
  const limits: CartLimits = { maxLines: deps.cart.maxLines, maxQuantity: deps.cart.maxQuantity };
  const maxAge = deps.cart.cookieMaxAgeSeconds;

  async function cookieCartId(c: Context): Promise<string | undefined> {
    const value = getCookie(c, CART_COOKIE);
    const dot = value?.lastIndexOf(".") ?? -1;
    if (!value || dot < 0) return undefined;
    const cartId = value.slice(0, dot);
    if (!CART_ID.test(cartId)) return undefined;
    return await signer.verify(`cart:${cartId}`, value.slice(dot + 1)) ? cartId : undefined;
  }

  async function remember(c: Context, cartId: string): Promise<void> {
    const signature = await signer.sign(`cart:${cartId}`);
    setCookie(c, CART_COOKIE, `${cartId}.${signature}`, {
      path: "/",
      httpOnly: true,
      sameSite: "Lax",
      secure: isHttps(c),
      maxAge,
    });
  }

  function changed(c: Context, cart: Pick<Cart, "itemCount">): void {
    setCookie(c, CART_COUNT_COOKIE, String(Math.min(cart.itemCount, MAX_SHOWN_COUNT)), {
      path: "/",
      sameSite: "Lax",
      secure: isHttps(c),
      maxAge,
    });
  }

  async function adopt(c: Context, userId: string, current: string | undefined) {
    const own = cartIdForUser(userId);
    if (current?.startsWith("a:")) {
      changed(c, await mergeCarts(database.writer, current, own, limits));
    }
    if (current !== own) await remember(c, own);
    return own;
  }

  return {
    limits,
    async resolve(c, options) {
      const user = c.get("user") as AuthUser | undefined;
      const current = await cookieCartId(c);
      if (user) return await adopt(c, user.id, current);
      if (current || !options.create) return current;
      const created = newAnonymousCartId();
      await remember(c, created);
      return created;
    },
    changed,
    async signedIn(c, userId) {
      const current = await cookieCartId(c);
      await adopt(c, userId, current);
      if (!current?.startsWith("a:")) {
        changed(c, await getCart(database.writer, cartIdForUser(userId), limits));
      }
    },
    signedOut(c) {
      deleteCookie(c, CART_COOKIE, { path: "/", secure: isHttps(c) });
      deleteCookie(c, CART_COUNT_COOKIE, { path: "/", secure: isHttps(c) });
    },
  };
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:";
}
