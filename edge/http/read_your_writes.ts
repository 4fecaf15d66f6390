import { getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { isHttpsRequest, type ProxySettings } from "./proxy.ts";

/** Cookie holding the time of this browser's last successful write. */
export const RECENT_WRITE_COOKIE = "last_write";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type ReadYourWritesEnv = { Variables: { recentWrite: boolean } };

/**
 * Read-your-writes across lagging replicas: a successful write stamps a short-lived cookie, and
 * while it is fresh `c.var.recentWrite` is true so the shopper's own reads go to the primary
 * (`database.readerFor`). Forging the cookie only sends that client's reads to the primary.
 */
export function readYourWrites(
  options: { windowMs: number; proxy: ProxySettings; now?: () => number },
) {
  const now = options.now ?? Date.now;
  const maxAgeSeconds = Math.ceil(options.windowMs / 1000);
  return createMiddleware<ReadYourWritesEnv>(async (c, next) => {
    const stamp = Number(getCookie(c, RECENT_WRITE_COOKIE));
    c.set("recentWrite", Number.isFinite(stamp) && now() - stamp < options.windowMs);
    await next();
    if (!SAFE_METHODS.has(c.req.method) && c.res.status < 400 && options.windowMs > 0) {
      setCookie(c, RECENT_WRITE_COOKIE, String(now()), {
        path: "/",
        httpOnly: true,
        sameSite: "Lax",
        // Secure whenever the shopper's connection is HTTPS, also behind a TLS-terminating proxy.
        secure: isHttpsRequest(c, options.proxy),
        maxAge: maxAgeSeconds,
      });
    }
  });
}
