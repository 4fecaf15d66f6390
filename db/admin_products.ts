/**
 * Catalog writes for the admin API. Each runs in one transaction on the writer, bumps
 * `products.version` and reports what changed so the caller can invalidate caches.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import type { Db } from "./client.ts";
import { inventory, products, variants } from "./schema.ts";
import { AppError, InvalidParameterError, NotFoundError } from "../edge/platform/errors.ts";

/** A variant id in the request does not belong to the product. */
export class UnknownVariantError extends InvalidParameterError {
  override name = "UnknownVariantError";
  constructor(message: string) {
    super("variants", message);
  }
}

/** Stock below what accepted orders already reserve. */
export class StockBelowReservedError extends AppError {
  override name = "StockBelowReservedError";
  constructor(message: string) {
    super(409, "conflict", message, { field: "variants" });
  }
}

/** A new slug is already another product's. */
export class SlugTakenError extends AppError {
  override name = "SlugTakenError";
  constructor(slug: string) {
    super(409, "conflict", `The slug "${slug}" belongs to another product`, { field: "slug" });
  }
}

/** Identity of a changed product, for cache invalidation (see `tagsForProductChange`). */
export interface ProductChange {
  productId: number;
  categoryId: number;
  slug: string;
  /** The slug before the change, when the change gave the product a new one. */
  previousSlug?: string;
  version: number;
  /** Featured before or after the change. */
  featured: boolean;
}

export interface ProductPatch {
  slug?: string;
  name?: string;
  description?: string;
  brand?: string;
  isActive?: boolean;
  isFeatured?: boolean;
}

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

/** Bumps version and updated_at, returning the product's identity; `NotFoundError` for an unknown id. */
async function touchProduct(
  tx: Tx,
  productId: number,
  changes: SQLiteUpdateSetSource<typeof products>,
  wasFeatured: boolean,
): Promise<ProductChange> {
  const [row] = await tx.update(products)
    .set({ ...changes, version: sql`${products.version} + 1`, updatedAt: Date.now() })
    .where(eq(products.id, productId))
    .returning({
      productId: products.id,
      categoryId: products.categoryId,
      slug: products.slug,
      version: products.version,
      featured: products.isFeatured,
    });
  if (!row) throw new NotFoundError(`Product ${productId} does not exist`);
  return { ...row, featured: row.featured || wasFeatured };
}

async function wasFeatured(tx: Tx, productId: number): Promise<boolean> {
  const [row] = await tx.select({ featured: products.isFeatured }).from(products)
    .where(eq(products.id, productId)).limit(1);
  if (!row) throw new NotFoundError(`Product ${productId} does not exist`);
  return row.featured;
}

/** Checks that every id in `variantIds` belongs to the product. */
async function checkVariants(tx: Tx, productId: number, variantIds: number[]): Promise<void> {
  const rows = await tx.select({ id: variants.id }).from(variants)
    .where(and(eq(variants.productId, productId), inArray(variants.id, variantIds)));
  const known = new Set(rows.map((row) => row.id));
  const unknown = variantIds.find((id) => !known.has(id));
  if (unknown !== undefined) {
    throw new UnknownVariantError(`Variant ${unknown} does not belong to product ${productId}`);
  }
}

/** Updates a product's slug, descriptive fields and flags; `SlugTakenError` for a used slug. */
export async function updateProduct(
  writer: Db,
  productId: number,
  patch: ProductPatch,
): Promise<ProductChange> {
  return await writer.transaction(async (tx) => {
    const [before] = await tx.select({ featured: products.isFeatured, slug: products.slug })
      .from(products).where(eq(products.id, productId)).limit(1);
    if (!before) throw new NotFoundError(`Product ${productId} does not exist`);
    if (patch.slug !== undefined && patch.slug !== before.slug) {
      const [owner] = await tx.select({ id: products.id }).from(products)
        .where(eq(products.slug, patch.slug)).limit(1);
      if (owner) throw new SlugTakenError(patch.slug);
    }
    const change = await touchProduct(tx, productId, patch, before.featured);
    return change.slug === before.slug ? change : { ...change, previousSlug: before.slug };
  });
}

/** Sets variant prices and recomputes the product's lowest price (`products.price_minor`). */
export async function setVariantPrices(
  writer: Db,
  productId: number,
  prices: { variantId: number; priceMinor: number }[],
): Promise<ProductChange> {
  return await writer.transaction(async (tx) => {
    const featured = await wasFeatured(tx, productId);
    await checkVariants(tx, productId, prices.map((price) => price.variantId));
    for (const price of prices) {
      await tx.update(variants).set({ priceMinor: price.priceMinor })
        .where(eq(variants.id, price.variantId));
    }
    const lowest = sql<number>`(SELECT MIN(${variants.priceMinor}) FROM ${variants}
      WHERE ${variants.productId} = ${productId})`;
    return await touchProduct(tx, productId, { priceMinor: lowest }, featured);
  });
}

/** Sets variants' units on hand and recomputes `products.in_stock`. */
export async function setVariantStock(
  writer: Db,
  productId: number,
  stock: { variantId: number; onHand: number }[],
): Promise<ProductChange> {
  return await writer.transaction(async (tx) => {
    const featured = await wasFeatured(tx, productId);
    const variantIds = stock.map((item) => item.variantId);
    await checkVariants(tx, productId, variantIds);
    const reserved = new Map(
      (await tx.select({ id: inventory.variantId, reserved: inventory.reserved }).from(inventory)
        .where(inArray(inventory.variantId, variantIds))).map((row) => [row.id, row.reserved]),
    );
    const now = Date.now();
    for (const item of stock) {
      const held = reserved.get(item.variantId) ?? 0;
      if (item.onHand < held) {
        throw new StockBelowReservedError(
          `Variant ${item.variantId} has ${held} units reserved, more than ${item.onHand}`,
        );
      }
      await tx.update(inventory).set({ onHand: item.onHand, updatedAt: now })
        .where(eq(inventory.variantId, item.variantId));
    }
    const inStock = sql<boolean>`EXISTS (SELECT 1 FROM ${inventory}
      JOIN ${variants} ON ${variants.id} = ${inventory.variantId}
      WHERE ${variants.productId} = ${productId}
        AND ${inventory.onHand} - ${inventory.reserved} > 0)`;
    return await touchProduct(tx, productId, { inStock }, featured);
  });
}
