/**
 * Carts: lines stored on the primary (so a cart survives restarts and is the same from every
 * edge node), read back joined with the live catalog so every view is validated against it.
 *
 * Each write is one batch (one round trip): the guarded write, then the cart as it now is.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { cartItems, inventory, products, variants } from "./schema.ts";
import { AppError, InvalidParameterError, NotFoundError } from "../edge/platform/errors.ts";

/** One cart line as the shopper sees it: catalog data read at the same moment as the line. */
export interface CartLine {
  variantId: number;
  productId: number;
  slug: string;
  productName: string;
  variantName: string;
  sku: string;
  imageUrl: string;
  priceMinor: number;
  currency: string;
  quantity: number;
  /** Units on hand minus units reserved by accepted orders; 0 when the variant has no stock row. */
  available: number;
  /** Whether the product is still sold. */
  active: boolean;
  /** Whether the variant has a stock row at all (one without can never be ordered). */
  stocked: boolean;
}

export type CartWarningCode = "unavailable" | "out_of_stock" | "low_stock";

/** A problem with a line; stock is a warning, never a reservation. */
export interface CartWarning {
  variantId: number;
  code: CartWarningCode;
  message: string;
  available: number;
}

export interface Cart {
  /** `undefined` for a shopper who has no cart yet. */
  id?: string;
  lines: (CartLine & { lineTotalMinor: number })[];
  /** Units across all lines. */
  itemCount: number;
  subtotalMinor: number;
  currency: string;
  warnings: CartWarning[];
}

export interface CartLimits {
  maxLines: number;
  maxQuantity: number;
}

/** The variant does not exist (400, naming `variantId`). */
export class UnknownVariantError extends InvalidParameterError {
  override name = "UnknownVariantError";
  constructor(variantId: number) {
    super("variantId", `Variant ${variantId} does not exist`);
  }
}

/** The product is no longer sold. */
export class VariantUnavailableError extends AppError {
  override name = "VariantUnavailableError";
  constructor(variantId: number) {
    super(409, "unavailable", `Variant ${variantId} is no longer sold`, { field: "variantId" });
  }
}

/** A change would take the cart past its bounds (lines or quantity). */
export class CartLimitError extends AppError {
  override name = "CartLimitError";
  constructor(field: "quantity" | "variantId", message: string) {
    super(422, "cart_limit", message, { field });
  }
}

/** The line is not in the cart. */
export class NotInCartError extends NotFoundError {
  override name = "NotInCartError";
  constructor(variantId: number) {
    super(`Variant ${variantId} is not in the cart`);
  }
}

/** Currency shown for an empty cart (the seeded catalog's). */
const DEFAULT_CURRENCY = "USD";

/** The cart id of a signed-in shopper: one cart per account, the same on every device. */
export function cartIdForUser(userId: string): string {
  return `u:${userId}`;
}

/** A fresh anonymous cart id (kept in the shopper's signed cookie). */
export function newAnonymousCartId(): string {
  return `a:${crypto.randomUUID()}`;
}

/** The account a cart id belongs to, if it is a signed-in cart. */
export function userIdOfCart(cartId: string): string | undefined {
  return cartId.startsWith("u:") ? cartId.slice(2) : undefined;
}

/**
 * The lines of a cart joined with their variant, product and stock: one query for all lines,
 * used for every cart view and for pricing at checkout.
 */
export function cartLinesQuery(db: Db, cartId: string, limit: number) {
  return db.select({
    variantId: cartItems.variantId,
    quantity: cartItems.quantity,
    productId: variants.productId,
    sku: variants.sku,
    variantName: variants.name,
    priceMinor: variants.priceMinor,
    currency: variants.currency,
    slug: products.slug,
    productName: products.name,
    imageUrl: products.imageUrl,
    active: products.isActive,
    available: sql<number>`coalesce(${inventory.onHand} - ${inventory.reserved}, 0)`,
    stocked: sql<number>`${inventory.variantId} IS NOT NULL`,
  }).from(cartItems)
    .innerJoin(variants, eq(variants.id, cartItems.variantId))
    .innerJoin(products, eq(products.id, variants.productId))
    .leftJoin(inventory, eq(inventory.variantId, cartItems.variantId))
    .where(eq(cartItems.cartId, cartId))
    .orderBy(asc(cartItems.addedAt), asc(cartItems.variantId))
    .limit(limit);
}

type CartLineRow = Awaited<ReturnType<typeof cartLinesQuery>>[number];

/** A row of `cartLinesQuery` as a `CartLine`. */
export function toCartLine(row: CartLineRow): CartLine {
  return { ...row, active: Boolean(row.active), stocked: Boolean(row.stocked) };
}

/** Totals and warnings of `lines` (pure). */
export function summarizeCart(id: string | undefined, lines: CartLine[]): Cart {
  const warnings: CartWarning[] = [];
  let itemCount = 0;
  let subtotalMinor = 0;
  for (const line of lines) {
    itemCount += line.quantity;
    subtotalMinor += line.priceMinor * line.quantity;
    const warning = warningFor(line);
    if (warning) warnings.push(warning);
  }
  return {
    id,
    lines: lines.map((line) => ({ ...line, lineTotalMinor: line.priceMinor * line.quantity })),
    itemCount,
    subtotalMinor,
    currency: lines[0]?.currency ?? DEFAULT_CURRENCY,
    warnings,
  };
}

function warningFor(line: CartLine): CartWarning | undefined {
  const name = `${line.productName} (${line.variantName})`;
  const base = { variantId: line.variantId, available: Math.max(0, line.available) };
  if (!line.active) {
    return { ...base, code: "unavailable", message: `${name} is no longer sold` };
  }
  if (line.available <= 0 || !line.stocked) {
    return { ...base, code: "out_of_stock", message: `${name} is out of stock` };
  }
  if (line.quantity > line.available) {
    return {
      ...base,
      code: "low_stock",
      message: `Only ${line.available} of ${name} left; you have ${line.quantity} in your cart`,
    };
  }
  return undefined;
}

/** Reads a cart with its catalog data; an unknown id is an empty cart. */
export async function getCart(reader: Db, cartId: string, limits: CartLimits): Promise<Cart> {
  const rows = await cartLinesQuery(reader, cartId, limits.maxLines);
  return summarizeCart(cartId, rows.map(toCartLine));
}

/**
 * Adds `quantity` units of a variant (a new line, or more of an existing one). The bounds and
 * the catalog check are part of the insert itself, so concurrent adds cannot pass them.
 */
export async function addCartItem(
  writer: Db,
  cartId: string,
  item: { variantId: number; quantity: number },
  limits: CartLimits,
): Promise<Cart> {
  const { variantId, quantity } = item;
  const [added, rows] = await writer.batch([
    writer.all<{ quantity: number }>(sql`
      INSERT INTO cart_items (cart_id, variant_id, quantity, added_at)
      SELECT ${cartId}, v.id, ${quantity}, ${Date.now()}
      FROM variants v JOIN products p ON p.id = v.product_id
      WHERE v.id = ${variantId} AND p.is_active = 1
        AND (EXISTS (SELECT 1 FROM cart_items WHERE cart_id = ${cartId} AND variant_id = ${variantId})
          OR (SELECT count(*) FROM cart_items WHERE cart_id = ${cartId}) < ${limits.maxLines})
      ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity
        WHERE cart_items.quantity + excluded.quantity <= ${limits.maxQuantity}
      RETURNING quantity`),
    cartLinesQuery(writer, cartId, limits.maxLines),
  ]);
  if (added.length === 0) throw await explainRefusedAdd(writer, cartId, item, limits);
  return summarizeCart(cartId, rows.map(toCartLine));
}

/** Why an add changed nothing (read only on that rare path). */
async function explainRefusedAdd(
  writer: Db,
  cartId: string,
  item: { variantId: number; quantity: number },
  limits: CartLimits,
): Promise<AppError> {
  const [facts] = await writer.all<
    { known: number; active: number | null; held: number | null; lines: number }
  >(sql`
    SELECT (SELECT count(*) FROM variants WHERE id = ${item.variantId}) AS known,
      (SELECT p.is_active FROM variants v JOIN products p ON p.id = v.product_id
        WHERE v.id = ${item.variantId}) AS active,
      (SELECT quantity FROM cart_items WHERE cart_id = ${cartId} AND variant_id = ${item.variantId})
        AS held,
      (SELECT count(*) FROM cart_items WHERE cart_id = ${cartId}) AS lines`);
  if (!facts?.known) return new UnknownVariantError(item.variantId);
  if (!facts.active) return new VariantUnavailableError(item.variantId);
  if (facts.held !== null) {
    return new CartLimitError(
      "quantity",
      `quantity would be ${facts.held + item.quantity}, above the limit of ${limits.maxQuantity}`,
    );
  }
  return new CartLimitError(
    "variantId",
    `The cart already has ${facts.lines} lines, the most it may hold`,
  );
}

/** Sets the quantity of a line already in the cart. */
export async function setCartItemQuantity(
  writer: Db,
  cartId: string,
  item: { variantId: number; quantity: number },
  limits: CartLimits,
): Promise<Cart> {
  const [updated, rows] = await writer.batch([
    writer.update(cartItems).set({ quantity: item.quantity })
      .where(and(eq(cartItems.cartId, cartId), eq(cartItems.variantId, item.variantId)))
      .returning({ quantity: cartItems.quantity }),
    cartLinesQuery(writer, cartId, limits.maxLines),
  ]);
  if (updated.length === 0) throw new NotInCartError(item.variantId);
  return summarizeCart(cartId, rows.map(toCartLine));
}

/** Removes one line. */
export async function removeCartItem(
  writer: Db,
  cartId: string,
  variantId: number,
  limits: CartLimits,
): Promise<Cart> {
  const [removed, rows] = await writer.batch([
    writer.delete(cartItems)
      .where(and(eq(cartItems.cartId, cartId), eq(cartItems.variantId, variantId)))
      .returning({ variantId: cartItems.variantId }),
    cartLinesQuery(writer, cartId, limits.maxLines),
  ]);
  if (removed.length === 0) throw new NotInCartError(variantId);
  return summarizeCart(cartId, rows.map(toCartLine));
}

/** Removes every line. */
export async function clearCart(writer: Db, cartId: string): Promise<Cart> {
  await writer.delete(cartItems).where(eq(cartItems.cartId, cartId));
  return summarizeCart(cartId, []);
}

/**
 * Moves an anonymous cart's lines into an account's cart (on sign-in): quantities of the same
 * variant add up to the quantity limit, and lines beyond the line limit are dropped, oldest of
 * the account's first. Two round trips: read both carts, then one batch.
 */
export async function mergeCarts(
  writer: Db,
  from: string,
  into: string,
  limits: CartLimits,
): Promise<Cart> {
  if (from === into) return await getCart(writer, into, limits);
  const held = await writer.select({
    cartId: cartItems.cartId,
    variantId: cartItems.variantId,
    quantity: cartItems.quantity,
    addedAt: cartItems.addedAt,
  }).from(cartItems).where(inArray(cartItems.cartId, [from, into]))
    .orderBy(asc(cartItems.addedAt)).limit(limits.maxLines * 2);
  const target = new Set(held.filter((l) => l.cartId === into).map((l) => l.variantId));
  let room = limits.maxLines - target.size;
  const moving = held.filter((line) => {
    if (line.cartId !== from) return false;
    if (target.has(line.variantId)) return true;
    return room-- > 0;
  });
  const statements = [];
  if (moving.length > 0) {
    statements.push(
      writer.insert(cartItems).values(moving.map((line) => ({ ...line, cartId: into })))
        .onConflictDoUpdate({
          target: [cartItems.cartId, cartItems.variantId],
          set: {
            quantity: sql`min(${cartItems.quantity} + excluded.quantity, ${limits.maxQuantity})`,
          },
        }),
    );
  }
  const [, ...rest] = await writer.batch([
    writer.delete(cartItems).where(eq(cartItems.cartId, from)),
    ...statements,
    cartLinesQuery(writer, into, limits.maxLines),
  ]);
  const rows = rest.at(-1) as CartLineRow[];
  return summarizeCart(into, rows.map(toCartLine));
}
