import { createMiddleware } from "hono/factory";

/**
 * Marks a shopper's own answers (cart, checkout, orders) `private, no-store`: no shared cache
 * (CDN, proxy, the edge cache) may keep them, and browsers do not reuse them, errors included.
 */
export function privateNoStore() {
  return createMiddleware(async (c, next) => {
    await next();
    c.res.headers.set("Cache-Control", "private, no-store");
  });
}
