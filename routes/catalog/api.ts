import { Hono } from "hono";
import { getCategoryBySlug, listProducts } from "../../db/catalog.ts";
import type { Database } from "../../db/client.ts";
import type { EdgeCache } from "../../edge/cache/cache.ts";
import { cachedResponder } from "../../edge/cache/http.ts";
import { cacheKeys, cacheTags } from "./cache_keys.ts";
import { categoriesLookup } from "./menu_data.ts";
import { productLookup } from "./product_data.ts";
import { parseListingQuery, toProductFilters } from "./query.ts";

/** The catalog JSON API: `/api/categories`, `/api/products`, `/api/products/:slug`. */
export function catalogApi(deps: { database: Database; cache: EdgeCache }): Hono {
  const app = new Hono();
  const cached = cachedResponder(deps.cache);
  const json = (value: unknown, tags: string[]) => ({
    body: JSON.stringify(value),
    contentType: "application/json",
    tags,
  });

  app.get("/categories", (c) => cached(c, categoriesLookup(deps.database)));

  app.get("/products", (c) => {
    const query = parseListingQuery(c);
    return cached(c, {
      kind: "listing",
      key: cacheKeys.productsJson(query),
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        let categoryIds: number[] | undefined;
        if (query.category) {
          const category = await getCategoryBySlug(reader, query.category);
          if (!category) {
            return json({ items: [], nextCursor: null, prevCursor: null }, [cacheTags.categories]);
          }
          // A department lists the products of its categories.
          categoryIds = category.childIds.length > 0 ? category.childIds : [category.id];
        }
        const page = await listProducts(reader, toProductFilters(query, categoryIds));
        const tags = page.items.map((product) => cacheTags.product(product.id));
        for (const id of categoryIds ?? []) tags.push(cacheTags.category(id));
        return json(page, tags);
      },
    });
  });

  app.get("/products/:slug", (c) => cached(c, productLookup(deps.database, c.req.param("slug"))));

  return app;
}
