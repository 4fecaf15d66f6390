/**
 * What a request says about the shopper's side of the connection (scheme, origin, address),
 * read the same way everywhere: from the socket and the request URL, or, only when the operator
 * says a TLS-terminating proxy stands in front (`TRUST_PROXY`), from the headers that proxy adds.
 * Without that setting the headers are ignored, since any client can send them.
 */
import type { Context } from "hono";
import { getConnInfo } from "hono/deno";

/** How far forwarded headers are believed (`Config["http"]`). */
export interface ProxySettings {
  /** A proxy in front sets X-Forwarded-Proto and appends the client to X-Forwarded-For. */
  trustProxy: boolean;
  /** Every request arrives over HTTPS whatever the URL says (Deno Deploy terminates TLS). */
  httpsOnly: boolean;
}

/** True when the shopper's connection is HTTPS (so cookies must be `Secure`). */
export function isHttpsRequest(c: Context, settings: ProxySettings): boolean {
  if (settings.httpsOnly) return true;
  if (settings.trustProxy) {
    const forwarded = c.req.header("x-forwarded-proto")?.split(",")[0].trim().toLowerCase();
    if (forwarded) return forwarded === "https";
  }
  return new URL(c.req.url).protocol === "https:";
}

/** The origin the shopper's browser sees (`https://shop.example`), for same-origin checks. */
export function externalOrigin(c: Context, settings: ProxySettings): string {
  const url = new URL(c.req.url);
  const scheme = isHttpsRequest(c, settings) ? "https:" : "http:";
  if (scheme === url.protocol) return url.origin;
  // The proxy speaks plain HTTP to us on its own port; the shopper used the default one.
  return `${scheme}//${url.hostname.includes(":") ? `[${url.hostname}]` : url.hostname}`;
}

/**
 * The client's address for rate limits: the socket's peer, or with a trusted proxy the address
 * it appended last to X-Forwarded-For (entries before it are whatever the client claimed).
 * IPv6 addresses are cut to their /64, the block one subscriber usually holds, so rotating
 * through one's own block does not earn fresh limits. "unknown" without a socket (tests).
 */
export function clientAddress(c: Context, settings: ProxySettings): string {
  let address: string | undefined;
  if (settings.trustProxy) {
    address = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim() || undefined;
  }
  if (address === undefined) {
    try {
      address = getConnInfo(c).remote.address;
    } catch {
      // no socket: app.request() in tests
    }
  }
  return address ? rateLimitAddress(address) : "unknown";
}

/** An IPv4 address as it is; an IPv6 address as its /64 prefix (`2001:db8:1:2::/64`). */
export function rateLimitAddress(address: string): string {
  const bare = address.replace(/^\[|\]$/g, "");
  if (!bare.includes(":")) return bare;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(bare)) return bare.slice(7); // IPv4-mapped
  const [head, tail = ""] = bare.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = bare.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  if (groups.length !== 8) return bare.slice(0, 64); // not an address we understand: as it came
  const prefix = groups.slice(0, 4).map((g) => (g.replace(/^0+(?=.)/, "") || "0").toLowerCase());
  return `${prefix.join(":")}::/64`;
}
