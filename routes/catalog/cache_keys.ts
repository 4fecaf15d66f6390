/**
 * The catalog's cache keys and invalidation tags: which logical key each cached response lives
 * under, and which tags a product change invalidates. Where tiers store them is edge/keys.ts.
 */
import type { ProductChange } from "../../db/admin_products.ts";

/** Canonical form of validated query parameters: sorted, undefined dropped. */
function canonicalQuery(query: Record<string, unknown>): string {
  return Object.keys(query).filter((name) => query[name] !== undefined).sort()
    .map((name) => `${name}=${encodeURIComponent(String(query[name]))}`).join("&");
}

/** Logical cache keys for every cached catalog response. */
export const cacheKeys = {
  homePage: (): string => "page:home",
  /** A product page; `variantId` when the URL chose a variant other than the default one. */
  productPage: (slug: string, variantId?: number): string =>
    variantId === undefined ? `page:p:${slug}` : `page:p:${slug}?v=${variantId}`,
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
  /** A product slug: its pages, and the cached 404 of a slug no product has yet. */
  slug: (slug: string): string => `slug:${slug}`,
  /** The featured list on the home page. */
  featured: "featured",
  /** The category list (home page, /api/categories). */
  categories: "categories",
} as const;

/**
 * The tags a product change invalidates: its own entries, the listings that show it, and its
 * slugs (a new slug may have a cached 404; the old one has cached pages).
 */
export function tagsForProductChange(change: ProductChange): string[] {
  const tags = [
    cacheTags.product(change.productId),
    cacheTags.slug(change.slug),
    cacheTags.category(change.categoryId),
  ];
  if (change.previousSlug !== undefined) tags.push(cacheTags.slug(change.previousSlug));
  if (change.featured) tags.push(cacheTags.featured);
  return tags;
}
