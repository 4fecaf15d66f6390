import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  getCategoryBySlug,
  getProductBySlug,
  listCategories,
  listProducts,
  MAX_PAGE_SIZE,
} from "../../db/catalog.ts";
import type { Database } from "../../db/client.ts";
import type { EdgeCache } from "../../edge/cache/cache.ts";
import { cachedResponder } from "../../edge/cache/http.ts";
import { cacheKeys, cacheTags } from "./cache_keys.ts";
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

  app.get("/categories", (c) =>
    cached(c, {
      kind: "listing",
      key: cacheKeys.categoriesJson(),
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const items = await listCategories(reader, { limit: MAX_PAGE_SIZE });
        return json({ items }, [cacheTags.categories]);
      },
    }));

  app.get("/products", (c) => {
    const query = parseListingQuery(c);
    return cached(c, {
      kind: "listing",
      key: cacheKeys.productsJson(query),
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        let categoryId: number | undefined;
        if (query.category) {
          const category = await getCategoryBySlug(reader, query.category);
          if (!category) return json({ items: [], nextCursor: null }, [cacheTags.categories]);
          categoryId = category.id;
        }
        const page = await listProducts(reader, toProductFilters(query, categoryId));
        const tags = page.items.map((product) => cacheTags.product(product.id));
        if (categoryId !== undefined) tags.push(cacheTags.category(categoryId));
        return json(page, tags);
      },
    });
  });

  app.get("/products/:slug", (c) => {
    const slug = c.req.param("slug");
    return cached(c, {
      kind: "product",
      key: cacheKeys.productJson(slug),
      notFoundTags: [cacheTags.slug(slug)],
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const product = await getProductBySlug(reader, slug);
        if (!product) throw new HTTPException(404, { message: "Product not found" });
        return json(product, [cacheTags.product(product.id), cacheTags.slug(product.slug)]);
      },
    });
  });

  return app;
}
