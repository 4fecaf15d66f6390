import { Hono } from "hono";
import type { VNode } from "preact";
import { HTTPException } from "hono/http-exception";
import {
  getCategoryBySlug,
  getProductBySlug,
  listCategories,
  listFeaturedProducts,
  listProducts,
} from "../../db/catalog.ts";
import type { Database } from "../../db/client.ts";
import type { EdgeCache } from "../../edge/cache/cache.ts";
import { cachedResponder } from "../../edge/cache/http.ts";
import { cacheKeys, cacheTags } from "./cache_keys.ts";
import { parseListingQuery, toProductFilters } from "./query.ts";
import { HomePage, ListingPage, ProductPage } from "../ui/pages.tsx";
import { HTML_CONTENT_TYPE, renderHtml } from "../ui/render.tsx";

/** The shopper-facing HTML pages: home, category listing, product detail, search. */
export function catalogPages(deps: { database: Database; cache: EdgeCache }): Hono {
  const app = new Hono();
  const cached = cachedResponder(deps.cache);
  const html = (page: VNode, tags: string[]) => ({
    body: renderHtml(page),
    contentType: HTML_CONTENT_TYPE,
    tags,
  });

  app.get("/", (c) =>
    cached(c, {
      kind: "home",
      key: cacheKeys.homePage(),
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const [featured, categories] = await Promise.all([
          listFeaturedProducts(reader, { limit: 12 }),
          listCategories(reader, { limit: 100 }),
        ]);
        return html(HomePage({ featured, categories }), [
          cacheTags.featured,
          cacheTags.categories,
          ...featured.map((product) => cacheTags.product(product.id)),
        ]);
      },
    }));

  app.get("/c/:slug", (c) => {
    const query = parseListingQuery(c);
    const slug = c.req.param("slug");
    return cached(c, {
      kind: "listing",
      key: cacheKeys.categoryPage(slug, query),
      notFoundTags: [cacheTags.categories],
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const category = await getCategoryBySlug(reader, slug);
        if (!category) throw new HTTPException(404, { message: "We couldn't find that category." });
        const page = await listProducts(reader, toProductFilters(query, category.id));
        return html(
          ListingPage({
            title: category.name,
            intro: category.description,
            action: `/c/${category.slug}`,
            query,
            products: page.items,
            nextCursor: page.nextCursor,
          }),
          [cacheTags.category(category.id), ...page.items.map((p) => cacheTags.product(p.id))],
        );
      },
    });
  });

  app.get("/p/:slug", (c) => {
    const slug = c.req.param("slug");
    return cached(c, {
      kind: "product",
      key: cacheKeys.productPage(slug),
      notFoundTags: [cacheTags.slug(slug)],
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const product = await getProductBySlug(reader, slug);
        if (!product) throw new HTTPException(404, { message: "We couldn't find that product." });
        return html(ProductPage({ product }), [
          cacheTags.product(product.id),
          cacheTags.slug(product.slug),
        ]);
      },
    });
  });

  app.get("/search", (c) => {
    const query = parseListingQuery(c);
    return cached(c, {
      kind: "listing",
      key: cacheKeys.searchPage(query),
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const page = query.q
          ? await listProducts(reader, toProductFilters(query))
          : { items: [], nextCursor: null };
        return html(
          ListingPage({
            title: query.q ? `Results for “${query.q}”` : "Search",
            action: "/search",
            query,
            products: page.items,
            nextCursor: page.nextCursor,
          }),
          page.items.map((product) => cacheTags.product(product.id)),
        );
      },
    });
  });

  return app;
}
