import { type Context, Hono } from "hono";
import type { VNode } from "preact";
import { HTTPException } from "hono/http-exception";
import {
  countProducts,
  getCategoryBySlug,
  getProductBySlug,
  listCategories,
  listFeaturedProducts,
  listProducts,
  MAX_PAGE_SIZE,
} from "../../db/catalog.ts";
import type { Database, Db } from "../../db/client.ts";
import type { EdgeCache } from "../../edge/cache/cache.ts";
import { cachedResponder } from "../../edge/cache/http.ts";
import { findAppError } from "../../edge/platform/errors.ts";
import { choiceParameters, defaultVariant, resolveVariant } from "../../islands/variant_options.ts";
import { toDepartments } from "../ui/navigation.ts";
import { ErrorPage } from "../ui/pages.tsx";
import { HTML_CONTENT_TYPE, renderHtml, renderPage } from "../ui/render.tsx";
import { cacheKeys, cacheTags } from "./cache_keys.ts";
import { HomePage } from "./home_page.tsx";
import { ListingPage } from "./listing_page.tsx";
import { readDepartments } from "./menu_data.ts";
import { readProduct } from "./product_data.ts";
import { ProductPage } from "./product_page.tsx";
import {
  type InvalidFilter,
  type ListingQuery,
  parseListingPageQuery,
  toProductFilters,
  withoutParameter,
} from "./query.ts";

/** The header menu's data: every category under its department (a few dozen rows). */
async function loadDepartments(reader: Db) {
  return toDepartments(await listCategories(reader, { limit: MAX_PAGE_SIZE }));
}

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
        const [featured, departments] = await Promise.all([
          listFeaturedProducts(reader, { limit: 12 }),
          loadDepartments(reader),
        ]);
        return html(HomePage({ featured, departments }), [
          cacheTags.featured,
          cacheTags.categories,
          ...featured.map((product) => cacheTags.product(product.id)),
        ]);
      },
    }));

  /** A category or department listing for `slug`. */
  function categoryListing(c: Context, slug: string, query: ListingQuery, invalid?: InvalidFilter) {
    return cached(c, {
      kind: "listing",
      key: cacheKeys.categoryPage(slug, { ...query, invalid: invalidKey(invalid) }),
      notFoundTags: [cacheTags.categories],
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const [category, departments] = await Promise.all([
          getCategoryBySlug(reader, slug),
          loadDepartments(reader),
        ]);
        if (!category) throw new HTTPException(404, { message: "We couldn't find that category." });
        const categoryIds = category.childIds.length > 0 ? category.childIds : [category.id];
        const filters = toProductFilters(query, categoryIds);
        const [page, count] = await Promise.all([
          listProducts(reader, filters),
          countProducts(reader, filters),
        ]);
        const department = departments.find((candidate) =>
          candidate.categories.some((child) => child.slug === category.slug)
        );
        const subcategories = departments.find((candidate) => candidate.slug === category.slug)
          ?.categories;
        return html(
          ListingPage({
            title: category.name,
            intro: category.description,
            action: `/c/${category.slug}`,
            trail: [
              { href: "/", label: "Home" },
              ...(department ? [{ href: `/c/${department.slug}`, label: department.name }] : []),
              { label: category.name },
            ],
            query,
            invalid,
            page,
            count,
            departments,
            subcategories,
          }),
          [
            cacheTags.categories,
            ...categoryIds.map((id) => cacheTags.category(id)),
            cacheTags.category(category.id),
            ...page.items.map((product) => cacheTags.product(product.id)),
          ],
        );
      },
    });
  }

  function searchListing(c: Context, query: ListingQuery, invalid?: InvalidFilter) {
    return cached(c, {
      kind: "listing",
      key: cacheKeys.searchPage({ ...query, invalid: invalidKey(invalid) }),
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const filters = toProductFilters(query);
        const [departments, page, count] = await Promise.all([
          loadDepartments(reader),
          query.q
            ? listProducts(reader, filters)
            : { items: [], nextCursor: null, prevCursor: null },
          query.q ? countProducts(reader, filters) : { total: 0, offset: 0 },
        ]);
        return html(
          ListingPage({
            title: query.q ? `Results for “${query.q}”` : "Search",
            action: "/search",
            trail: [{ href: "/", label: "Home" }, { label: "Search" }],
            query,
            invalid,
            page,
            count,
            departments,
            search: true,
          }),
          [cacheTags.categories, ...page.items.map((product) => cacheTags.product(product.id))],
        );
      },
    });
  }

  /** A catalog 404 as a page with the menu, so a dead link still leads somewhere. */
  async function withMenuOnNotFound(c: Context, answer: () => Promise<Response>) {
    try {
      return await answer();
    } catch (error) {
      if (!(error instanceof HTTPException) || error.status !== 404) throw error;
      const departments = await readDepartments(deps).catch(() => undefined);
      return renderPage(c, ErrorPage({ status: 404, message: error.message, departments }), 404);
    }
  }

  app.get("/c/:slug", (c) => {
    const slug = c.req.param("slug");
    return withMenuOnNotFound(
      c,
      () => listingResponse(c, (query, invalid) => categoryListing(c, slug, query, invalid)),
    );
  });

  app.get(
    "/search",
    (c) => listingResponse(c, (query, invalid) => searchListing(c, query, invalid)),
  );

  app.get("/p/:slug", (c) => withMenuOnNotFound(c, () => productPage(c, c.req.param("slug"))));

  async function productPage(c: Context, slug: string) {
    // A choice (`?color=navy&size=m`) is resolved against the product's own variants first, so
    // the page's cache key names one of them: arbitrary query strings cannot multiply entries.
    const choice = choiceParameters(c.req.query());
    let variantId: number | undefined;
    if (choice) {
      const { variants } = await readProduct(deps, slug);
      const chosen = resolveVariant(variants, choice);
      if (chosen && chosen.id !== defaultVariant(variants)?.id) variantId = chosen.id;
    }
    return cached(c, {
      kind: "product",
      key: cacheKeys.productPage(slug, variantId),
      notFoundTags: [cacheTags.slug(slug)],
      load: async ({ afterWrite }) => {
        const reader = deps.database.readerFor({ recentWrite: afterWrite });
        const [product, departments] = await Promise.all([
          getProductBySlug(reader, slug),
          loadDepartments(reader),
        ]);
        if (!product) throw new HTTPException(404, { message: "We couldn't find that product." });
        const selected = product.variants.find((variant) => variant.id === variantId) ??
          defaultVariant(product.variants);
        if (!selected) throw new HTTPException(404, { message: "That product has no options." });
        return html(ProductPage({ product, selected, departments }), [
          cacheTags.product(product.id),
          cacheTags.slug(product.slug),
          cacheTags.categories,
        ]);
      },
    });
  }

  return app;
}

/** Part of a listing's cache key: which parameter the page reports as invalid. */
function invalidKey(invalid: InvalidFilter | undefined): string | undefined {
  return invalid && `${invalid.field}:${invalid.message}`;
}

/**
 * Answers a listing page: invalid parameters are dropped and named inline (status 400), and a
 * page link the catalog refuses (a stale or foreign cursor) falls back to the first page.
 */
async function listingResponse(
  c: Context,
  render: (query: ListingQuery, invalid?: InvalidFilter) => Promise<Response>,
): Promise<Response> {
  let { query, invalid } = parseListingPageQuery(c);
  let response: Response;
  try {
    response = await render(query, invalid);
  } catch (error) {
    const field = findAppError(error)?.field;
    if (field !== "cursor" && field !== "before") throw error;
    query = withoutParameter(query, field);
    invalid ??= { field, message: `${field} is out of date, so this is the first page` };
    response = await render(query, invalid);
  }
  if (!invalid || response.status !== 200) return response;
  return new Response(response.body, { status: 400, headers: response.headers });
}
