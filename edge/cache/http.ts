/**
 * The HTTP face of the edge cache: routes call `cached(c, { kind, key, load })` and get a
 * response with Cache-Control, a strong ETag (304 on If-None-Match), Vary and X-Cache.
 */
import type { Context } from "hono";
import type { CacheKind } from "../platform/config.ts";
import { gzipSync } from "node:zlib";
import { SECURITY_HEADERS } from "../http/middleware.ts";
import type { CacheEntry, CacheLookup, EdgeCache } from "./cache.ts";

/** The route's key (built with `cacheKeys`) and its origin loader. */
export type CachedSpec = CacheLookup;

/** Answers one request from the cache. */
export type CachedResponder = (c: Context, spec: CachedSpec) => Promise<Response>;

/**
 * Binds the responder to a cache once, at app start.
 *
 * Cached responses are the same anonymous rendering for everyone: the personal parts of a page
 * (account name, cart count) are filled in by the browser from small readable cookies. So
 * cookies do not change the answer, and a signed-in shopper's request is as shareable as any.
 * Only a request with an Authorization header (an API client acting as a user) is answered
 * `private, no-store`, so no shared cache keeps a response to a request that named a user.
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
  function build(
    kind: CacheKind,
    entry: CacheEntry,
    representation: Representation,
    options: { personal: boolean; source: string; notModified: boolean },
  ): Response {
    const headers: [string, string][] = [
      ...SECURITY_HEADERS,
      ["cache-control", options.personal ? "private, no-store" : publicControl.get(kind)!],
      ["etag", representation.etag],
      ["vary", "Accept-Encoding"],
      ["x-cache", options.source],
    ];
    if (options.notModified) return new Response(null, { status: 304, headers });
    headers.push(["content-type", entry.contentType]);
    if (representation.encoding) headers.push(["content-encoding", representation.encoding]);
    return new Response(representation.bytes, { status: 200, headers });
  }

  return async (c, spec) => {
    const { entry, source } = await cache.get(spec);
    const request = c.req.raw.headers;
    const personal = request.has("authorization");
    const representation = encodedBody(entry, acceptsGzip(request.get("accept-encoding")));
    if (ifNoneMatchMatches(request.get("if-none-match"), representation.etag)) {
      return build(spec.kind, entry, representation, { personal, source, notModified: true });
    }
    if (source !== "L0") {
      return build(spec.kind, entry, representation, { personal, source, notModified: false });
    }
    // The hot path. Constructing a Response costs about a microsecond per header in Deno, most
    // of a cached request; cloning a prebuilt one shares its headers and body (~0.3 µs).
    const slot = personal ? "private" : "public";
    let prebuilt = representation.l0Responses[slot];
    if (!prebuilt) {
      prebuilt = build(spec.kind, entry, representation, { personal, source, notModified: false });
      representation.l0Responses[slot] = prebuilt;
    }
    return prebuilt.clone();
  };
}

/** Bodies below this size are sent as they are: compressing them saves nothing. */
const COMPRESS_MIN_BYTES = 1024;

interface Representation {
  bytes: Uint8Array<ArrayBuffer>;
  etag: string;
  encoding?: "gzip";
  /** Prebuilt L0-hit responses, cloned per request; never sent themselves. */
  l0Responses: { public?: Response; private?: Response };
}

/**
 * Encoded bodies and prebuilt responses per entry, made once on first use rather than on every
 * response. Weakly held: they live exactly as long as the entry does in L0, so L0's byte bound
 * still bounds them (an entry's representations hold at most a few copies of its body).
 */
const representations = new WeakMap<
  CacheEntry,
  { identity: Representation; gzip?: Representation }
>();
const encoder = new TextEncoder();

function encodedBody(entry: CacheEntry, gzip: boolean): Representation {
  let cached = representations.get(entry);
  if (!cached) {
    cached = {
      identity: { bytes: encoder.encode(entry.body), etag: entry.etag, l0Responses: {} },
    };
    representations.set(entry, cached);
  }
  if (!gzip || cached.identity.bytes.length < COMPRESS_MIN_BYTES) return cached.identity;
  cached.gzip ??= {
    bytes: new Uint8Array(gzipSync(cached.identity.bytes, { level: 6 })),
    // A different representation needs its own strong validator.
    etag: entry.etag.replace(/"$/, '-gz"'),
    encoding: "gzip",
    l0Responses: {},
  };
  return cached.gzip;
}

function acceptsGzip(header: string | null): boolean {
  if (!header) return false;
  return /(?:^|,)\s*(?:gzip|\*)\s*(?:,|;(?!\s*q=0(?:\.0*)?\s*(?:,|$))|$)/i.test(header);
}

/** Weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`; `*` matches anything. */
export function ifNoneMatchMatches(header: string | null | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return header.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === opaque);
}
