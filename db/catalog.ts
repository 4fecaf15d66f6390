/**
 * Catalog reads: categories, product listings with keyset pagination, product detail, search.
 */
import { base64url } from "jose";
import { and, asc, desc, eq, gte, inArray, lte, type SQL, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { categories, inventory, productImages, products, variants } from "./schema.ts";
import { InvalidParameterError } from "../edge/platform/errors.ts";

export const PRODUCT_SORTS = ["featured", "price_asc", "price_desc", "newest", "name"] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

export const MAX_PAGE_SIZE = 100;

/** Thrown for a pagination cursor that this module did not produce. */
export class InvalidCursorError extends InvalidParameterError {
  override name = "InvalidCursorError";
  constructor(message: string) {
    super("cursor", message);
  }
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page; `null` on the last page. */
  nextCursor: string | null;
}

export interface ProductFilters {
  categoryId?: number;
  minPriceMinor?: number;
  maxPriceMinor?: number;
  inStock?: boolean;
  /** Full-text query over name and brand. */
  query?: string;
  sort: ProductSort;
  limit: number;
  cursor?: string;
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
};
export type CategorySummary = { id: number; slug: string; name: string; description: string };

/** Sort key column and direction for each sort; the id breaks ties in the same direction. */
const SORT_KEYS = {
  featured: { column: products.popularity, descending: true, kind: "number" },
  price_asc: { column: products.priceMinor, descending: false, kind: "number" },
  price_desc: { column: products.priceMinor, descending: true, kind: "number" },
  newest: { column: products.createdAt, descending: true, kind: "number" },
  name: { column: products.name, descending: false, kind: "string" },
} as const;

/** Lists categories in display order (the shop has dozens, so one bounded page). */
export async function listCategories(
  reader: Db,
  options: { limit: number },
): Promise<CategorySummary[]> {
  return await reader.select(categoryColumns).from(categories)
    .orderBy(asc(categories.position), asc(categories.id))
    .limit(Math.min(options.limit, MAX_PAGE_SIZE));
}

/** Finds one category by its slug. */
export async function getCategoryBySlug(
  reader: Db,
  slug: string,
): Promise<CategorySummary | undefined> {
  const [row] = await reader.select(categoryColumns).from(categories)
    .where(eq(categories.slug, slug)).limit(1);
  return row;
}

/**
 * Lists active products matching `filters`, one query whatever the page size.
 *
 * Pages are keyset-paginated on (sort key, id), so pages never overlap or skip rows while the
 * catalog is stable.
 */
export async function listProducts(
  reader: Db,
  filters: ProductFilters,
): Promise<Page<ProductSummary>> {
  const limit = Math.max(1, Math.min(filters.limit, MAX_PAGE_SIZE));
  const key = SORT_KEYS[filters.sort];
  const conditions: (SQL | undefined)[] = [eq(products.isActive, true)];
  if (filters.categoryId !== undefined) {
    conditions.push(eq(products.categoryId, filters.categoryId));
  }
  if (filters.minPriceMinor !== undefined) {
    conditions.push(gte(products.priceMinor, filters.minPriceMinor));
  }
  if (filters.maxPriceMinor !== undefined) {
    conditions.push(lte(products.priceMinor, filters.maxPriceMinor));
  }
  if (filters.inStock) conditions.push(eq(products.inStock, true));
  if (filters.query !== undefined) {
    const match = toMatchExpression(filters.query);
    if (match === undefined) return { items: [], nextCursor: null };
    conditions.push(
      inArray(products.id, sql`(SELECT rowid FROM products_fts WHERE products_fts MATCH ${match})`),
    );
  }
  if (filters.cursor !== undefined) {
    const [value, id] = decodeCursor(filters.cursor, key.kind);
    const after = key.descending ? sql`<` : sql`>`;
    conditions.push(sql`(${key.column}, ${products.id}) ${after} (${value}, ${id})`);
  }
  const order = key.descending
    ? [desc(key.column), desc(products.id)]
    : [asc(key.column), asc(products.id)];
  const rows = await reader.select({ ...summaryColumns, sortValue: key.column })
    .from(products)
    .where(and(...conditions))
    .orderBy(...order)
    .limit(limit + 1);
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return {
    items: page.map(({ sortValue: _, ...item }) => item),
    nextCursor: hasMore && last ? encodeCursor([last.sortValue, last.id]) : null,
  };
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

function decodeCursor(cursor: string, kind: "number" | "string"): [number | string, number] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(base64url.decode(cursor)));
  } catch {
    throw new InvalidCursorError(`Cursor "${cursor}" is not valid`);
  }
  if (
    Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === kind &&
    // JSON.parse turns 1e999 into Infinity, which the database refuses: finite numbers only.
    (kind === "string" || Number.isFinite(parsed[0])) && Number.isSafeInteger(parsed[1])
  ) {
    return parsed as [number | string, number];
  }
  throw new InvalidCursorError(`Cursor "${cursor}" does not belong to this sort`);
}
