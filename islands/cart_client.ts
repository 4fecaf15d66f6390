/**
 * The cart as islands see it, and their calls to the cart API. The server renders the cart page
 * and the drawer from the same shape (`toCartView` picks it from the API's cart), so a page
 * reads the same before and after hydration. Not a component: islands/build.ts bundles only
 * PascalCase files.
 */
import { CART_CHANGED_EVENT } from "./cookies.ts";

export interface CartLineView {
  variantId: number;
  slug: string;
  productName: string;
  variantName: string;
  imageUrl: string;
  priceMinor: number;
  currency: string;
  quantity: number;
  /** Units that can still be ordered; the cart warns, it does not reserve. */
  available: number;
  lineTotalMinor: number;
}

export interface CartWarningView {
  variantId: number;
  code: string;
  message: string;
}

export interface CartView {
  lines: CartLineView[];
  itemCount: number;
  subtotalMinor: number;
  currency: string;
  warnings: CartWarningView[];
}

/** What `CART_CHANGED_EVENT` carries when an island changed the cart. */
export interface CartChange {
  cart: CartView;
  /** Open the cart drawer (after an add). */
  open?: boolean;
  /** The variant just added, which the drawer names. */
  addedVariantId?: number;
}

export type CartResult =
  | { ok: true; cart: CartView }
  | { ok: false; message: string; offline?: boolean };

/** The fields of an API cart that pages and islands show (no cart id in page props). */
export function toCartView(cart: CartView): CartView {
  return {
    lines: cart.lines.map((line) => ({
      variantId: line.variantId,
      slug: line.slug,
      productName: line.productName,
      variantName: line.variantName,
      imageUrl: line.imageUrl,
      priceMinor: line.priceMinor,
      currency: line.currency,
      quantity: line.quantity,
      available: line.available,
      lineTotalMinor: line.lineTotalMinor,
    })),
    itemCount: cart.itemCount,
    subtotalMinor: cart.subtotalMinor,
    currency: cart.currency,
    warnings: cart.warnings.map(({ variantId, code, message }) => ({ variantId, code, message })),
  };
}

const OFFLINE_MESSAGE = "We couldn't reach the shop. Check your connection and try again.";

async function send(method: string, path: string, body?: unknown): Promise<CartResult> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined
        ? { accept: "application/json" }
        : { accept: "application/json", "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, message: OFFLINE_MESSAGE, offline: true };
  }
  const answer = await response.json().catch(() => undefined);
  if (response.ok && answer?.lines) return { ok: true, cart: toCartView(answer) };
  const message = answer?.error?.message;
  return {
    ok: false,
    message: typeof message === "string" ? sentence(message) : "Something went wrong. Try again.",
  };
}

/** The API's messages start lower-case ("quantity must be…"); shoppers read a sentence. */
function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Adds units of a variant (`POST /api/cart/items`). */
export function addToCart(variantId: number, quantity: number): Promise<CartResult> {
  return send("POST", "/api/cart/items", { variantId, quantity });
}

/** Sets a line's quantity (`PATCH /api/cart/items/:variantId`). */
export function setLineQuantity(variantId: number, quantity: number): Promise<CartResult> {
  return send("PATCH", `/api/cart/items/${variantId}`, { quantity });
}

/** Removes a line (`DELETE /api/cart/items/:variantId`). */
export function removeLine(variantId: number): Promise<CartResult> {
  return send("DELETE", `/api/cart/items/${variantId}`);
}

/** Tells the page's other islands (badge, drawer, cart page) that the cart changed. */
export function announceCartChange(change: CartChange): void {
  dispatchEvent(new CustomEvent<CartChange>(CART_CHANGED_EVENT, { detail: change }));
}

/** "3 items", "1 item". */
export function itemCountLabel(count: number): string {
  return `${count} ${count === 1 ? "item" : "items"}`;
}
