import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  getCategoryBySlug,
  getProductBySlug,
  listCategories,
  listFeaturedProducts,
  listProducts,
} from "../db/catalog.ts";
import type { Database } from "../db/client.ts";
import { parseListingQuery, toProductFilters } from "./catalog_query.ts";
import { HomePage, ListingPage, ProductPage } from "./pages.tsx";
import { renderPage } from "./render.tsx";

/** The shopper-facing HTML pages: home, category listing, product detail, search. */
export function catalogPages(deps: { database: Database }): Hono {
  const app = new Hono();

  app.get("/", async (c) => {
    const reader = deps.database.reader;
    const [featured, categories] = await Promise.all([
      listFeaturedProducts(reader, { limit: 12 }),
      listCategories(reader, { limit: 100 }),
    ]);
    return renderPage(c, HomePage({ featured, categories }));
  });

  app.get("/c/:slug", async (c) => {
    const query = parseListingQuery(c);
    const category = await getCategoryBySlug(deps.database.reader, c.req.param("slug"));
    if (!category) throw new HTTPException(404, { message: "We couldn't find that category." });
    const page = await listProducts(deps.database.reader, toProductFilters(query, category.id));
    return renderPage(
      c,
      ListingPage({
        title: category.name,
        intro: category.description,
        action: `/c/${category.slug}`,
        query,
        products: page.items,
        nextCursor: page.nextCursor,
      }),
    );
  });

  app.get("/p/:slug", async (c) => {
    const product = await getProductBySlug(deps.database.reader, c.req.param("slug"));
    if (!product) throw new HTTPException(404, { message: "We couldn't find that product." });
    return renderPage(c, ProductPage({ product }));
  });

  app.get("/search", async (c) => {
    const query = parseListingQuery(c);
    const page = query.q
      ? await listProducts(deps.database.reader, toProductFilters(query))
      : { items: [], nextCursor: null };
    return renderPage(
      c,
      ListingPage({
        title: query.q ? `Results for “${query.q}”` : "Search",
        action: "/search",
        query,
        products: page.items,
        nextCursor: page.nextCursor,
      }),
    );
  });

  return app;
}
