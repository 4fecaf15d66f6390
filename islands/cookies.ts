/**
 * The small readable cookies that personalise the shared, cached pages in the browser: the
 * account's display name and the cart's item count. Never read on the server for catalog pages.
 */

/** Set at sign-in (routes/account/flows.ts), cleared at sign-out. */
export const ACCOUNT_NAME_COOKIE = "account_name";
/** Set by the cart on every change: the number of items in it. */
export const CART_COUNT_COOKIE = "cart_count";
/** Islands listen for this event on `window` when a page changes the cart without a load. */
export const CART_CHANGED_EVENT = "cart:changed";

/** Reads one cookie from a `document.cookie` string; `undefined` when absent or malformed. */
export function readCookie(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(";")) {
    const separator = part.indexOf("=");
    if (separator === -1 || part.slice(0, separator).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(separator + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The cart count a cookie value stands for: a whole number from 0 to 999, else 0. */
export function cartCountOf(value: string | undefined): number {
  if (value === undefined || !/^\d{1,3}$/.test(value)) return 0;
  return Number(value);
}
