/**
 * What every tier stores for one cached response.
 */
import { base64url } from "jose";
import type { CacheKind, CacheWindows } from "../platform/config.ts";
import { boundedKey } from "./cache_key.ts";

/** What a route's loader returns: the rendered body and what it depends on. */
export interface CacheValue {
  body: string;
  contentType: string;
  /** Invalidation tags (see `cacheTags` in keys.ts). */
  tags: string[];
}

/** A cached response with its validator and freshness, as stored in L0, L1 and L2. */
export interface CacheEntry extends CacheValue {
  kind: CacheKind;
  /** Strong validator: a hash of the body, quoted. */
  etag: string;
  /** Serve without revalidating until then (ms since epoch on the cache clock). */
  freshUntil: number;
  /** Serve while revalidating in the background until then. */
  staleUntil: number;
  /** Serve only when the origin fails, until then; tiers drop the entry after it. */
  expiresAt: number;
  /** Set on a cached "not found" (negative caching): the 404 to answer again until `freshUntil`. */
  notFound?: NotFound;
}

/** The origin's 404, kept so it is thrown again as the same kind of error with the same words. */
export interface NotFound {
  message: string;
  /** Thrown as Hono's `HTTPException` (else as a `NotFoundError`). */
  httpException: boolean;
}

const encoder = new TextEncoder();

/** Hashes the body into a strong ETag, e.g. `"q3Fz…"` (SHA-256, 128 bits, base64url). */
export async function strongEtag(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(body)));
  return `"${base64url.encode(digest.subarray(0, 16))}"`;
}

/** Builds an entry whose fresh lifetime is spread by ±`jitter` so keys do not expire together. */
export async function createEntry(
  value: CacheValue,
  options: { kind: CacheKind; windows: CacheWindows; now: number; jitter: number; random: number },
): Promise<CacheEntry> {
  const { windows, now } = options;
  const spread = 1 + (options.random * 2 - 1) * options.jitter;
  const freshUntil = now + Math.round(windows.freshMs * spread);
  const staleUntil = freshUntil + windows.staleWhileRevalidateMs;
  return {
    body: value.body,
    contentType: value.contentType,
    tags: boundedTags(value.tags),
    kind: options.kind,
    etag: await strongEtag(value.body),
    freshUntil,
    staleUntil,
    expiresAt: staleUntil + windows.staleIfErrorMs,
  };
}

/**
 * Builds a negative entry: the origin's "not found" for `ttlMs`, never stale. Its tags name what
 * would make the missing thing appear (a product's slug), so that write invalidates it.
 */
export function createNotFoundEntry(
  notFound: NotFound,
  options: { kind: CacheKind; tags: readonly string[]; now: number; ttlMs: number },
): CacheEntry {
  const until = options.now + options.ttlMs;
  return {
    body: "",
    contentType: "text/plain",
    tags: boundedTags(options.tags),
    kind: options.kind,
    etag: '""',
    freshUntil: until,
    staleUntil: until,
    expiresAt: until,
    notFound,
  };
}

/** Tags as every tier stores them: unique and bounded in length (see `boundedKey`). */
export function boundedTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map(boundedKey))];
}

/** Approximate bytes an entry holds (UTF-16 body in memory plus overhead). */
export function entryBytes(entry: CacheEntry): number {
  let tags = 0;
  for (const tag of entry.tags) tags += tag.length * 2 + 32;
  return entry.body.length * 2 + entry.contentType.length * 2 +
    (entry.notFound?.message.length ?? 0) * 2 +
    tags + 200;
}

/** Checks the shape of an entry read back from KV or Redis. */
export function isCacheEntry(value: unknown): value is CacheEntry {
  const entry = value as CacheEntry | null;
  return typeof entry === "object" && entry !== null && typeof entry.body === "string" &&
    typeof entry.etag === "string" && typeof entry.freshUntil === "number" &&
    typeof entry.staleUntil === "number" && typeof entry.expiresAt === "number" &&
    Array.isArray(entry.tags);
}
