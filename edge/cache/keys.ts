/**
 * Every cache key and tag, in one place: the logical keys routes cache under, the tags that
 * invalidate them, and where each tier stores them (KV key arrays, Redis key strings).
 */

/** Logical keys are kept short; anything longer than this bypasses the cache (KV keys cap at 2 KiB). */
export const MAX_CACHE_KEY_LENGTH = 512;

/** Canonical form of validated query parameters: sorted, undefined dropped. */
function canonicalQuery(query: Record<string, unknown>): string {
  return Object.keys(query).filter((name) => query[name] !== undefined).sort()
    .map((name) => `${name}=${encodeURIComponent(String(query[name]))}`).join("&");
}

/** Logical cache keys for every cached catalog response. */
export const cacheKeys = {
  homePage: (): string => "page:home",
  productPage: (slug: string): string => `page:p:${slug}`,
  categoryPage: (slug: string, query: Record<string, unknown>): string =>
    `page:c:${slug}?${canonicalQuery(query)}`,
  searchPage: (query: Record<string, unknown>): string => `page:search?${canonicalQuery(query)}`,
  categoriesJson: (): string => "api:categories",
  productsJson: (query: Record<string, unknown>): string => `api:products?${canonicalQuery(query)}`,
  productJson: (slug: string): string => `api:p:${slug}`,
} as const;

/** Invalidation tags: what a cached response depends on. */
export const cacheTags = {
  product: (id: number): string => `product:${id}`,
  category: (id: number): string => `category:${id}`,
  slug: (slug: string): string => `slug:${slug}`,
  /** The featured list on the home page. */
  featured: "featured",
  /** The category list (home page, /api/categories). */
  categories: "categories",
} as const;

/** What changed when a product was written, as reported by db/admin_products.ts. */
export interface ProductChange {
  productId: number;
  categoryId: number;
  slug: string;
  /** Featured before or after the change: the home page's list may change. */
  featured: boolean;
}

/** The tags a product change invalidates: its own entries and the listings that show it. */
export function tagsForProductChange(change: ProductChange): string[] {
  const tags = [
    cacheTags.product(change.productId),
    cacheTags.slug(change.slug),
    cacheTags.category(change.categoryId),
  ];
  if (change.featured) tags.push(cacheTags.featured);
  return tags;
}

/** Deno KV (L1) keys; `generation` changes to orphan every L1 entry at once (no scans). */
export const kvCacheKeys = {
  entry: (generation: number, key: string): Deno.KvKey => ["cache", generation, "e", key],
  /** Secondary index: listing one tag's prefix finds exactly its keys. */
  tagIndex: (generation: number, tag: string, key: string): Deno.KvKey => [
    "cache",
    generation,
    "t",
    tag,
    key,
  ],
  tagPrefix: (generation: number, tag: string): Deno.KvKey => ["cache", generation, "t", tag],
  generation: ["cache_meta", "generation"] as Deno.KvKey,
  invalidationSeq: ["cache_meta", "invalidation_seq"] as Deno.KvKey,
} as const;

/** Redis (L2) keys; the Lua scripts in l2.ts build entry and tag keys with the same prefixes. */
export const redisCacheKeys = {
  entryPrefix: "cache:e:",
  tagPrefix: "cache:t:",
  entry: (key: string): string => `cache:e:${key}`,
  tag: (tag: string): string => `cache:t:${tag}`,
  lease: (key: string): string => `cache:lease:${key}`,
  /** Newest-first list of invalidation events `{ seq, tags }`, trimmed to a few hundred. */
  invalidationLog: "cache:inval:log",
  invalidationSeq: "cache:inval:seq",
  /** Hash tag → seq of its last invalidation; refuses writes of data loaded before it. */
  tagSeqs: "cache:inval:tagseq",
} as const;
