/**
 * One product's data through the edge cache: the entry `/api/products/:slug` serves, which the
 * product page also reads to resolve an option choice before it picks its own cache key.
 */
import { HTTPException } from "hono/http-exception";
import { getProductBySlug, type ProductDetail } from "../../db/catalog.ts";
import type { Database } from "../../db/client.ts";
import type { CacheEntry, CacheLookup, EdgeCache } from "../../edge/cache/cache.ts";
import { cacheKeys, cacheTags } from "./cache_keys.ts";

/** The cached JSON of one product (variants, stock, images), loaded from the nearest reader. */
export function productLookup(database: Database, slug: string): CacheLookup {
  return {
    kind: "product",
    key: cacheKeys.productJson(slug),
    notFoundTags: [cacheTags.slug(slug)],
    load: async ({ afterWrite }) => {
      const reader = database.readerFor({ recentWrite: afterWrite });
      const product = await getProductBySlug(reader, slug);
      if (!product) throw new HTTPException(404, { message: "Product not found" });
      return {
        body: JSON.stringify(product),
        contentType: "application/json",
        tags: [cacheTags.product(product.id), cacheTags.slug(product.slug)],
      };
    },
  };
}

/** Parsed once per cached entry: entries are immutable and L0 hands out the same object. */
const parsedProducts = new WeakMap<CacheEntry, ProductDetail>();

/** The product behind `slug` from the cache (404 when there is none). */
export async function readProduct(
  deps: { database: Database; cache: EdgeCache },
  slug: string,
): Promise<ProductDetail> {
  const { entry } = await deps.cache.get(productLookup(deps.database, slug));
  let product = parsedProducts.get(entry);
  if (!product) {
    product = JSON.parse(entry.body) as ProductDetail;
    parsedProducts.set(entry, product);
  }
  return product;
}
