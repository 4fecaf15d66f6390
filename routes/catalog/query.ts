import type { Context } from "hono";
import { z } from "zod";
import { MAX_PAGE_SIZE, PRODUCT_SORTS, type ProductFilters } from "../../db/catalog.ts";
import { InvalidParameterError } from "../../edge/platform/errors.ts";
import { parseWith } from "../validation.ts";

export const DEFAULT_PAGE_SIZE = 24;

/** A catalog slug: lowercase words joined by single hyphens. */
export const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const AMOUNT = /^\d{1,7}(\.\d{1,2})?$/;
const CURSOR = z.string().max(200).regex(/^[A-Za-z0-9_-]+$/, "is not a valid cursor").optional();

/** A decimal amount in the shop currency ("12.5") as integer minor units (1250). */
const amount = z.string().trim().regex(AMOUNT, "must be an amount like 12.50")
  .transform((value) => Math.round(Number(value) * 100));

const listingQuery = z.object({
  category: z.string().max(120).regex(SLUG, "must be a category slug").optional(),
  q: z.string().trim().max(100, "must be at most 100 characters").optional()
    .transform((value) => value || undefined),
  min_price: amount.optional(),
  max_price: amount.optional(),
  in_stock: z.enum(["true", "false", "1", "0", "on"], "must be true or false").optional()
    .transform((value) => value === undefined ? undefined : ["true", "1", "on"].includes(value)),
  sort: z.enum(PRODUCT_SORTS, `must be one of ${PRODUCT_SORTS.join(", ")}`).optional(),
  limit: z.string().regex(/^\d+$/, "must be a whole number").transform(Number)
    .pipe(
      z.number().min(1, "must be at least 1").max(
        MAX_PAGE_SIZE,
        `must be at most ${MAX_PAGE_SIZE}`,
      ),
    )
    .default(DEFAULT_PAGE_SIZE),
  cursor: CURSOR,
  before: CURSOR,
}).refine(
  (query) =>
    query.min_price === undefined || query.max_price === undefined ||
    query.min_price <= query.max_price,
  { path: ["max_price"], message: "must not be below min_price" },
).transform(({ sort, ...query }) => ({
  ...query,
  // A search is ordered by relevance unless the shopper picks another order.
  sort: sort ?? (query.q ? "relevance" : "featured"),
}));

export type ListingQuery = z.output<typeof listingQuery>;

/** The listing parameters a shopper can set (the filter form, the sort, the pager). */
export const LISTING_PARAMETERS = [
  "q",
  "min_price",
  "max_price",
  "in_stock",
  "sort",
  "limit",
  "cursor",
  "before",
] as const;

/** A filter a listing page dropped because it was invalid, shown inline on the page. */
export interface InvalidFilter {
  field: string;
  message: string;
}

/**
 * The query parameters with empty values left out: an empty Min or Max price field in a
 * submitted filter form means "no bound", not an invalid amount.
 */
function presentParameters(c: Context): Record<string, string> {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.req.query())) {
    if (value.trim() !== "") present[name] = value;
  }
  return present;
}

/** Validates listing query parameters shared by the API and the pages; 400 names the field. */
export function parseListingQuery(c: Context): ListingQuery {
  return parseWith(listingQuery, presentParameters(c));
}

/**
 * The pages' forgiving parse: an invalid parameter is dropped and reported, so the listing
 * still renders (with an inline message) instead of a bare error page.
 */
export function parseListingPageQuery(
  c: Context,
): { query: ListingQuery; invalid?: InvalidFilter } {
  const input = presentParameters(c);
  let invalid: InvalidFilter | undefined;
  for (let attempt = 0; attempt <= LISTING_PARAMETERS.length; attempt++) {
    try {
      return { query: parseWith(listingQuery, input), invalid };
    } catch (error) {
      if (!(error instanceof InvalidParameterError) || !error.field || !(error.field in input)) {
        throw error;
      }
      invalid ??= { field: error.field, message: error.message };
      delete input[error.field];
    }
  }
  throw new Error("unreachable: every parameter was dropped");
}

/** The same query without `field` (after the catalog refused its value, e.g. a stale cursor). */
export function withoutParameter(query: ListingQuery, field: string): ListingQuery {
  const copy: Record<string, unknown> = { ...query };
  delete copy[field];
  return copy as ListingQuery;
}

/** Maps validated query parameters onto db filters. */
export function toProductFilters(
  query: ListingQuery,
  categoryIds?: readonly number[],
): ProductFilters {
  return {
    categoryIds,
    minPriceMinor: query.min_price,
    maxPriceMinor: query.max_price,
    inStock: query.in_stock,
    query: query.q,
    sort: query.sort,
    limit: query.limit,
    cursor: query.cursor,
    before: query.before,
  };
}
