/** The checkout step shared by `POST /api/checkout` and the checkout form. */
import type { Context } from "hono";
import { userIdOfCart } from "../../db/carts.ts";
import type { Database } from "../../db/client.ts";
import { InvalidCartError, type PlacedOrder, placeOrder } from "../../db/place_order.ts";
import type { PaymentMethodId } from "../../db/schema.ts";
import type { AuthUser } from "../../edge/auth/middleware.ts";
import type { CheckoutConfig } from "../../edge/platform/config.ts";
import { InvalidParameterError } from "../../edge/platform/errors.ts";
import { sha256 } from "../../edge/platform/signing.ts";
import type { CartSessions } from "../cart/session.ts";
import type { OutboxWorker } from "../orders/outbox_worker.ts";
import type { CheckoutInput } from "./input.ts";

export interface CheckoutDeps {
  database: Database;
  carts: CartSessions;
  checkout: CheckoutConfig;
  outbox: OutboxWorker;
}

/**
 * Places the order for the request's cart under `idempotencyKey`: validates who is buying,
 * hands the cart to `placeOrder` (two round trips, one transaction), then wakes the outbox
 * worker; the mail and cache invalidation happen after the answer, never inside it.
 */
export async function checkOut(
  deps: CheckoutDeps,
  c: Context,
  input: CheckoutInput,
  idempotencyKey: string,
): Promise<PlacedOrder> {
  const cartId = await deps.carts.resolve(c, { create: false });
  if (!cartId) throw new InvalidCartError("cart_empty", "The cart is empty");
  const user = c.get("user") as AuthUser | undefined;
  const userId = user?.id ?? userIdOfCart(cartId);
  if (!userId && !input.email) {
    throw new InvalidParameterError("email", "email is required for a guest checkout");
  }
  const option = deps.checkout.shippingOptions.find((o) => o.id === input.shippingOption)!;
  const placed = await placeOrder(deps.database.writer, {
    cartId,
    scope: userId ? `u:${userId}` : cartId,
    idempotencyKey,
    // The key protects this exact request: the same key with other details is refused.
    requestHash: sha256(JSON.stringify(userId ? { ...input, email: null } : input)),
    userId,
    email: input.email,
    shipping: { option, address: input.shippingAddress },
    paymentMethod: input.paymentMethod as PaymentMethodId,
  }, {
    maxLines: deps.carts.limits.maxLines,
    idempotencyTtlMs: deps.checkout.idempotencyTtlSeconds * 1000,
  });
  if (!placed.replayed) deps.outbox.wake();
  // The ordered lines left the cart (anything added meanwhile stays, and shows on next read).
  deps.carts.changed(c, { itemCount: 0 });
  return placed;
}
