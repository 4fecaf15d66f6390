/**
 * Signed order links: `/orders/<id>?token=<HMAC>` lets whoever holds the link (the shopper,
 * through the confirmation mail or the checkout redirect) read one order, guests included.
 */
import type { Signer } from "../../edge/platform/signing.ts";

export interface OrderLinks {
  /** The token that grants reading `orderId`. */
  token(orderId: string): Promise<string>;
  /** Whether `token` grants reading `orderId` (constant-time). */
  verify(orderId: string, token: string | undefined): Promise<boolean>;
  /** `/orders/<id>?token=…`, the order page. */
  pagePath(orderId: string): Promise<string>;
  /** `/api/orders/<id>?token=…`, the same order as JSON. */
  apiPath(orderId: string): Promise<string>;
}

/** Order links signed by the shop's signer. */
export function createOrderLinks(signer: Signer): OrderLinks {
  const token = (orderId: string) => signer.sign(`order:${orderId}`);
  return {
    token,
    verify: async (orderId, presented) =>
      presented !== undefined && presented.length <= 64 &&
      await signer.verify(`order:${orderId}`, presented),
    pagePath: async (orderId) => `/orders/${orderId}?token=${await token(orderId)}`,
    apiPath: async (orderId) => `/api/orders/${orderId}?token=${await token(orderId)}`,
  };
}
