/**
 * Catalog reads: categories, product listings with keyset pagination, product detail, search.
 */
import { base64url } from "jose";
import { and, asc, desc, eq, gte, inArray, lte, type SQL, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "./client.ts";
import { categories, inventory, productImages, products, variants } from "./schema.ts";
import { InvalidParameterError } from "../edge/platform/errors.ts";

/** Listing orders; `relevance` (bm25) applies to searches and falls back to `featured`. */
export const PRODUCT_SORTS = [
  "featured",
  "price_asc",
  "price_desc",
  "newest",
  "name",
  "relevance",
] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

export const MAX_PAGE_SIZE = 100;

/** Thrown for a pagination cursor that this module did not produce. */
export class InvalidCursorError extends InvalidParameterError {
  override name = "InvalidCursorError";
  constructor(message: string, field = "cursor") {
    super(field, message);
  }
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; `null` on the last page. */
  nextCursor: string | null;
  /** Opaque cursor (for `before`) of the page before this one; `null` on the first page. */
  prevCursor: string | null;
}

export interface ProductFilters {
  /** Products of any of these categories (one category, or a department's categories). */
  categoryIds?: readonly number[];
  minPriceMinor?: number;
  maxPriceMinor?: number;
  inStock?: boolean;
  /** Full-text query over name, brand, category and department (stemmed, prefix per word). */
  query?: string;
  sort: ProductSort;
  limit: number;
  /** Items after this position (a `nextCursor`). */
  cursor?: string;
  /** Items before this position (a `prevCursor`); ignored when `cursor` is set. */
  before?: string;
}

const summaryColumns = {
  id: products.id,
  slug: products.slug,
  name: products.name,
  brand: products.brand,
  priceMinor: products.priceMinor,
  currency: products.currency,
  inStock: products.inStock,
  imageUrl: products.imageUrl,
};

export type ProductSummary = {
  id: number;
  slug: string;
  name: string;
  brand: string;
  priceMinor: number;
  currency: string;
  inStock: boolean;
  imageUrl: string;
};

const categoryColumns = {
  id: categories.id,
  slug: categories.slug,
  name: categories.name,
  description: categories.description,
  parentId: categories.parentId,
};
export type CategorySummary = {
  id: number;
  slug: string;
  name: string;
  description: string;
  /** The department a category belongs to; `null` for a department itself. */
  parentId: number | null;
};

type SortKey = {
  column: SQL | SQL.Aliased | AnySQLiteColumn;
  descending: boolean;
  kind: "number" | "string";
};

/** Sort key column and direction for each sort; the id breaks ties in the same direction. */
const SORT_KEYS: Record<Exclude<ProductSort, "relevance">, SortKey> = {
  featured: { column: products.popularity, descending: true, kind: "number" },
  price_asc: { column: products.priceMinor, descending: false, kind: "number" },
  price_desc: { column: products.priceMinor, descending: true, kind: "number" },
  newest: { column: products.createdAt, descending: true, kind: "number" },
  name: { column: products.name, descending: false, kind: "string" },
};

/** bm25 weights of the index columns name, brand, category: a name match counts most. */
const RELEVANCE = sql.raw("bm25(products_fts, 10.0, 4.0, 2.0)");

/** Lists categories in display order (the shop has dozens, so one bounded page). */
export async function listCategories(
  reader: Db,
  options: { limit: number },
): Promise<CategorySummary[]> {
  return await reader.select(categoryColumns).from(categories)
    .orderBy(asc(categories.position), asc(categories.id))
    .limit(Math.min(options.limit, MAX_PAGE_SIZE));
}

/** Finds one category by its slug, with its child categories' ids when it is a department. */
export async function getCategoryBySlug(
  reader: Db,
  slug: string,
): Promise<(CategorySummary & { childIds: number[] }) | undefined> {
  const [rows, children] = await reader.batch([
    reader.select(categoryColumns).from(categories).where(eq(categories.slug, slug)).limit(1),
    reader.select({ id: categories.id }).from(categories)
      .where(eq(
        categories.parentId,
        sql`(SELECT ${categories.id} FROM ${categories} WHERE ${categories.slug} = ${slug})`,
      ))
      .limit(MAX_PAGE_SIZE),
  ]);
  const [row] = rows;
  return row && { ...row, childIds: children.map((child) => child.id) };
}

/** What listProducts and countProducts share: the matching rows and their order. */
function planListing(reader: Db, filters: ProductFilters) {
  const conditions: SQL[] = [eq(products.isActive, true)];
  if (filters.categoryIds !== undefined) {
    conditions.push(inArray(products.categoryId, [...filters.categoryIds]));
  }
  if (filters.minPriceMinor !== undefined) {
    conditions.push(gte(products.priceMinor, filters.minPriceMinor));
  }
  if (filters.maxPriceMinor !== undefined) {
    conditions.push(lte(products.priceMinor, filters.maxPriceMinor));
  }
  if (filters.inStock) conditions.push(eq(products.inStock, true));
  let matches;
  if (filters.query !== undefined) {
    const match = toMatchExpression(filters.query);
    if (match === undefined) return undefined;
    matches = reader.select({
      id: sql<number>`rowid`.as("match_id"),
      rank: sql<number>`${RELEVANCE}`.as("match_rank"),
    }).from(sql`products_fts`).where(sql`products_fts MATCH ${match}`)
      // Any LIMIT keeps SQLite from flattening the subquery into countProducts' aggregate,
      // where bm25() cannot run; this one never cuts a result.
      .limit(Number.MAX_SAFE_INTEGER).as("matches");
  }
  const key: SortKey = filters.sort === "relevance"
    ? matches ? { column: matches.rank, descending: false, kind: "number" } : SORT_KEYS.featured
    : SORT_KEYS[filters.sort];
  /** Rows strictly after (`"after"`) or before a cursor position, in this sort's order. */
  const beyond = (cursor: string, side: "after" | "before", field: string) => {
    const [value, id] = decodeCursor(cursor, key.kind, field);
    const ahead = key.descending === (side === "after") ? sql`<` : sql`>`;
    return sql`(${key.column}, ${products.id}) ${ahead} (${value}, ${id})`;
  };
  return { conditions, matches, key, beyond };
}

/**
 * Lists active products matching `filters`, one query whatever the page size.
 *
 * Pages are keyset-paginated on (sort key, id), so pages never overlap or skip rows while the
 * catalog is stable; `before` walks backwards for "previous page" links.
 */
export async function listProducts(
  reader: Db,
  filters: ProductFilters,
): Promise<Page<ProductSummary>> {
  const plan = planListing(reader, filters);
  if (!plan) return { items: [], nextCursor: null, prevCursor: null };
  const { conditions, matches, key, beyond } = plan;
  const limit = Math.max(1, Math.min(filters.limit, MAX_PAGE_SIZE));
  const backwards = filters.cursor === undefined && filters.before !== undefined;
  if (filters.cursor !== undefined) conditions.push(beyond(filters.cursor, "after", "cursor"));
  else if (backwards) conditions.push(beyond(filters.before!, "before", "before"));
  const descending = key.descending !== backwards;
  const order = descending
    ? [desc(key.column), desc(products.id)]
    : [asc(key.column), asc(products.id)];
  const select = reader.select({
    ...summaryColumns,
    sortValue: sql<number | string>`${key.column}`,
  })
    .from(products);
  const joined = matches ? select.innerJoin(matches, eq(matches.id, products.id)) : select;
  const rows = await joined.where(and(...conditions)).orderBy(...order).limit(limit + 1);
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  if (backwards) page.reverse();
  const [first, last] = [page.at(0), page.at(-1)];
  const hasNext = backwards ? page.length > 0 : hasMore;
  const hasPrev = backwards ? hasMore : filters.cursor !== undefined;
  return {
    items: page.map(({ sortValue: _, ...item }) => item),
    nextCursor: hasNext && last ? encodeCursor([last.sortValue, last.id]) : null,
    prevCursor: hasPrev && first ? encodeCursor([first.sortValue, first.id]) : null,
  };
}

/**
 * Counts the products matching `filters` (`total`) and those before the page `filters` asks
 * for (`offset`), in one query, so a page can say "25–48 of 185".
 */
export async function countProducts(
  reader: Db,
  filters: ProductFilters,
): Promise<{ total: number; offset: number }> {
  const plan = planListing(reader, filters);
  if (!plan) return { total: 0, offset: 0 };
  const { conditions, matches, beyond } = plan;
  const backwards = filters.cursor === undefined && filters.before !== undefined;
  let isPreceding: SQL = sql`0`;
  if (filters.cursor !== undefined) {
    isPreceding = sql`NOT ${beyond(filters.cursor, "after", "cursor")}`;
  } else if (backwards) {
    isPreceding = beyond(filters.before!, "before", "before");
  }
  const select = reader.select({
    total: sql<number>`count(*)`,
    preceding: sql<number>`coalesce(sum(CASE WHEN ${isPreceding} THEN 1 ELSE 0 END), 0)`,
  }).from(products);
  const joined = matches ? select.innerJoin(matches, eq(matches.id, products.id)) : select;
  const [row] = await joined.where(and(...conditions));
  const preceding = Number(row?.preceding ?? 0);
  // Walking backwards, the page is the `limit` rows just before the position.
  const offset = backwards ? Math.max(0, preceding - filters.limit) : preceding;
  return { total: Number(row?.total ?? 0), offset };
}

/** Featured products for the home page, most popular first. */
export async function listFeaturedProducts(
  reader: Db,
  options: { limit: number },
): Promise<ProductSummary[]> {
  return await reader.select(summaryColumns).from(products)
    .where(and(eq(products.isFeatured, true), eq(products.isActive, true)))
    .orderBy(desc(products.popularity))
    .limit(Math.min(options.limit, MAX_PAGE_SIZE));
}

export interface ProductDetail extends ProductSummary {
  description: string;
  version: number;
  updatedAt: number;
  category: { slug: string; name: string };
  variants: {
    id: number;
    sku: string;
    name: string;
    options: Record<string, string>;
    priceMinor: number;
    currency: string;
    available: number;
  }[];
  images: { url: string; alt: string }[];
}

/** Loads one active product with its variants, stock and images in a single round trip. */
export async function getProductBySlug(
  reader: Db,
  slug: string,
): Promise<ProductDetail | undefined> {
  const productId = sql`(SELECT ${products.id} FROM ${products} WHERE ${products.slug} = ${slug})`;
  const [productRows, variantRows, imageRows] = await reader.batch([
    reader.select({
      ...summaryColumns,
      description: products.description,
      version: products.version,
      updatedAt: products.updatedAt,
      categorySlug: categories.slug,
      categoryName: categories.name,
    }).from(products)
      .innerJoin(categories, eq(categories.id, products.categoryId))
      .where(and(eq(products.slug, slug), eq(products.isActive, true)))
      .limit(1),
    reader.select({
      id: variants.id,
      sku: variants.sku,
      name: variants.name,
      options: variants.options,
      priceMinor: variants.priceMinor,
      currency: variants.currency,
      available: sql<number>`${inventory.onHand} - ${inventory.reserved}`,
    }).from(variants)
      .innerJoin(inventory, eq(inventory.variantId, variants.id))
      .where(eq(variants.productId, productId))
      .orderBy(asc(variants.position))
      .limit(MAX_PAGE_SIZE),
    reader.select({ url: productImages.url, alt: productImages.alt }).from(productImages)
      .where(eq(productImages.productId, productId))
      .orderBy(asc(productImages.position))
      .limit(20),
  ]);
  const [row] = productRows;
  if (!row) return undefined;
  const { categorySlug, categoryName, ...product } = row;
  return {
    ...product,
    category: { slug: categorySlug, name: categoryName },
    variants: variantRows,
    images: imageRows,
  };
}

/** Turns free text into a safe FTS5 prefix query: each word quoted, all words required. */
function toMatchExpression(query: string): string | undefined {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu)?.slice(0, 8) ?? [];
  if (words.length === 0) return undefined;
  return words.map((word) => `"${word}"*`).join(" ");
}

function encodeCursor(position: [number | string, number]): string {
  return base64url.encode(JSON.stringify(position));
}

function decodeCursor(
  cursor: string,
  kind: "number" | "string",
  field: string,
): [number | string, number] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(base64url.decode(cursor)));
  } catch {
    throw new InvalidCursorError(`Cursor "${cursor}" is not valid`, field);
  }
  if (
    Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === kind &&
    // JSON.parse turns 1e999 into Infinity, which the database refuses: finite numbers only.
    (kind === "string" || Number.isFinite(parsed[0])) && Number.isSafeInteger(parsed[1])
  ) {
    return parsed as [number | string, number];
  }
  throw new InvalidCursorError(`Cursor "${cursor}" does not belong to this sort`, field);
}

/** Most products `getProductThumbnails` looks up at once. */
export const MAX_THUMBNAILS = 200;

/**
 * The image and page of each product in `productIds` (order and account pages show them beside
 * ordered items): one query, whatever the number of ids, inactive products included.
 */
export async function getProductThumbnails(
  reader: Db,
  productIds: readonly number[],
): Promise<Map<number, { slug: string; imageUrl: string; active: boolean }>> {
  const ids = [...new Set(productIds)].slice(0, MAX_THUMBNAILS);
  if (ids.length === 0) return new Map();
  const rows = await reader.select({
    id: products.id,
    slug: products.slug,
    imageUrl: products.imageUrl,
    active: products.isActive,
  }).from(products).where(inArray(products.id, ids));
  return new Map(rows.map(({ id, ...row }) => [id, { ...row, active: Boolean(row.active) }]));
}
