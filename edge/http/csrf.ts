/**
 * Cross-site request forgery protection for cookie-authenticated writes, decided by what the
 * browser says about where a request comes from rather than by its content type (the approach
 * of Go's `http.CrossOriginProtection`):
 *
 * 1. `Sec-Fetch-Site: same-origin` (or `none`, a request the user started) passes;
 * 2. otherwise an `Origin` header must be the shop's own origin or a trusted one;
 * 3. a request with neither header did not come from a browser, which sends `Origin` on every
 *    POST and `Sec-Fetch-Site` on every request since 2020-2023, so it cannot be a forgery
 *    riding on a shopper's cookies, and passes (an API client, `curl`, a native app).
 *
 * Content type plays no part: a sign-out posted with no body and no `Content-Type` is as
 * legitimate as a form, and a cross-site JSON post is as refused as a cross-site form.
 */
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { externalOrigin, type ProxySettings } from "./proxy.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface CrossOriginOptions extends ProxySettings {
  /** Extra origins allowed to post (`AUTH_TRUSTED_ORIGINS`), e.g. `https://admin.shop.example`. */
  trustedOrigins?: readonly string[];
}

/** Refuses unsafe requests a browser made on behalf of another site, with 403. */
export function crossOriginProtection(options: CrossOriginOptions) {
  const trusted = new Set(options.trustedOrigins ?? []);
  return createMiddleware(async (c, next) => {
    if (!SAFE_METHODS.has(c.req.method)) {
      const site = c.req.header("sec-fetch-site");
      const origin = c.req.header("origin");
      const allowed = site === "same-origin" || site === "none" ||
        (origin === undefined
          ? site === undefined
          : origin === externalOrigin(c, options) || trusted.has(origin));
      if (!allowed) {
        throw new HTTPException(403, { message: "Cross-site requests are not allowed here" });
      }
    }
    await next();
  });
}
