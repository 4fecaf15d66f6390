/**
 * The HTTP face of the edge cache: routes call `cached(c, { kind, key, load })` and get a
 * response with Cache-Control, a strong ETag (304 on If-None-Match), Vary and X-Cache.
 */
import type { Context } from "hono";
import type { CacheKind } from "../config.ts";
import type { CacheLookup, EdgeCache } from "./cache.ts";

/** The route's key (built with `cacheKeys`) and its origin loader. */
export type CachedSpec = CacheLookup;

/** Answers one request from the cache. */
export type CachedResponder = (c: Context, spec: CachedSpec) => Promise<Response>;

/**
 * Binds the responder to a cache once, at app start.
 *
 * Responses to requests carrying credentials (an Authorization header or any cookie) are marked
 * `private, no-store`: the body is the same anonymous rendering from the internal cache, but no
 * shared cache may store a response to a request that identified a user.
 */
export function cachedResponder(cache: EdgeCache): CachedResponder {
  const publicControl = new Map<CacheKind, string>();
  for (const kind of ["product", "listing", "home"] as const) {
    const windows = cache.windows(kind);
    publicControl.set(
      kind,
      `public, max-age=0, s-maxage=${Math.floor(windows.freshMs / 1000)}, ` +
        `stale-while-revalidate=${Math.floor(windows.staleWhileRevalidateMs / 1000)}, ` +
        `stale-if-error=${Math.floor(windows.staleIfErrorMs / 1000)}`,
    );
  }
  return async (c, spec) => {
    const { entry, source } = await cache.get(spec);
    const request = c.req.raw.headers;
    const personal = request.has("authorization") || request.has("cookie");
    const headers = new Headers({
      "cache-control": personal ? "private, no-store" : publicControl.get(spec.kind)!,
      "etag": entry.etag,
      "vary": "Accept-Encoding",
      "x-cache": source,
    });
    if (ifNoneMatchMatches(request.get("if-none-match"), entry.etag)) {
      return new Response(null, { status: 304, headers });
    }
    headers.set("content-type", entry.contentType);
    return new Response(entry.body, { status: 200, headers });
  };
}

/** Weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`; `*` matches anything. */
export function ifNoneMatchMatches(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return header.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === opaque);
}
