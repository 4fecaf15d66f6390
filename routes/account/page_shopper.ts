/**
 * Who a page request belongs to. Pages are plain navigations: they carry no Bearer token, and the
 * refresh cookie stays on `/api/auth`. What they do carry is the signed, HttpOnly cart cookie,
 * which sign-in points at the account's cart (`u:<user id>`) and sign-out deletes — the same
 * proof the checkout page already uses to order as the account.
 */
import type { Context } from "hono";
import { userIdOfCart } from "../../db/carts.ts";
import type { AuthUser } from "../../edge/auth/middleware.ts";
import type { CartSessions } from "../cart/session.ts";

/** The signed-in shopper's user id: from a Bearer token, else from the signed cart cookie. */
export async function pageShopperId(
  c: Context,
  carts: CartSessions,
): Promise<string | undefined> {
  const user = c.get("user") as AuthUser | undefined;
  if (user) return user.id;
  const cartId = await carts.resolve(c, { create: false });
  return cartId ? userIdOfCart(cartId) : undefined;
}

/** Where a sign-in form may send the shopper afterwards: a path on this shop, else home. */
export function safeNextPath(next: unknown): string {
  if (typeof next !== "string" || !/^\/(?![/\\])[\w\-./?=&%]*$/.test(next)) return "/";
  return next.length <= 200 ? next : "/";
}
