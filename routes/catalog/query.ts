import type { Context } from "hono";
import { z } from "zod";
import { MAX_PAGE_SIZE, PRODUCT_SORTS, type ProductFilters } from "../../db/catalog.ts";
import { parseWith } from "../validation.ts";

export const DEFAULT_PAGE_SIZE = 24;

/** A catalog slug: lowercase words joined by single hyphens. */
export const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const AMOUNT = /^\d{1,7}(\.\d{1,2})?$/;

/** A decimal amount in the shop currency ("12.5") as integer minor units (1250). */
const amount = z.string().regex(AMOUNT, "must be an amount like 12.50")
  .transform((value) => Math.round(Number(value) * 100));

const listingQuery = z.object({
  category: z.string().max(120).regex(SLUG, "must be a category slug").optional(),
  q: z.string().trim().max(100, "must be at most 100 characters").optional()
    .transform((value) => value || undefined),
  min_price: amount.optional(),
  max_price: amount.optional(),
  in_stock: z.enum(["true", "false", "1", "0", "on"], "must be true or false").optional()
    .transform((value) => value === undefined ? undefined : ["true", "1", "on"].includes(value)),
  sort: z.enum(PRODUCT_SORTS, `must be one of ${PRODUCT_SORTS.join(", ")}`).default("featured"),
  limit: z.string().regex(/^\d+$/, "must be a whole number").transform(Number)
    .pipe(
      z.number().min(1, "must be at least 1").max(
        MAX_PAGE_SIZE,
        `must be at most ${MAX_PAGE_SIZE}`,
      ),
    )
    .default(DEFAULT_PAGE_SIZE),
  cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/, "is not a valid cursor").optional(),
}).refine(
  (query) =>
    query.min_price === undefined || query.max_price === undefined ||
    query.min_price <= query.max_price,
  { path: ["max_price"], message: "must not be below min_price" },
);

export type ListingQuery = z.output<typeof listingQuery>;

/** Validates listing query parameters shared by the API and the pages; 400 names the field. */
export function parseListingQuery(c: Context): ListingQuery {
  return parseWith(listingQuery, c.req.query());
}

/** Maps validated query parameters onto db filters. */
export function toProductFilters(query: ListingQuery, categoryId?: number): ProductFilters {
  return {
    categoryId,
    minPriceMinor: query.min_price,
    maxPriceMinor: query.max_price,
    inStock: query.in_stock,
    query: query.q,
    sort: query.sort,
    limit: query.limit,
    cursor: query.cursor,
  };
}
