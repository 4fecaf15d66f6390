import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  getCategoryBySlug,
  getProductBySlug,
  listCategories,
  listProducts,
  MAX_PAGE_SIZE,
} from "../db/catalog.ts";
import type { Database } from "../db/client.ts";
import { parseListingQuery, toProductFilters } from "./catalog_query.ts";

/** The catalog JSON API: `/api/categories`, `/api/products`, `/api/products/:slug`. */
export function catalogApi(deps: { database: Database }): Hono {
  const app = new Hono();

  app.get("/categories", async (c) => {
    const items = await listCategories(deps.database.reader, { limit: MAX_PAGE_SIZE });
    return c.json({ items });
  });

  app.get("/products", async (c) => {
    const query = parseListingQuery(c);
    let categoryId: number | undefined;
    if (query.category) {
      const category = await getCategoryBySlug(deps.database.reader, query.category);
      if (!category) return c.json({ items: [], nextCursor: null });
      categoryId = category.id;
    }
    return c.json(await listProducts(deps.database.reader, toProductFilters(query, categoryId)));
  });

  app.get("/products/:slug", async (c) => {
    const product = await getProductBySlug(deps.database.reader, c.req.param("slug"));
    if (!product) throw new HTTPException(404, { message: "Product not found" });
    return c.json(product);
  });

  return app;
}
