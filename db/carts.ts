/**
 * Carts: lines stored on the primary (so a cart survives restarts and is the same from every
 * edge node), read back joined with the live catalog so every view is validated against it.
 *
 * Each write is one batch (one round trip): the guarded write, then the cart as it now is. The
 * statements are raw SQL (db/statements.ts explains why).
 */
import type { InStatement, ResultSet } from "@libsql/client";
import { asc, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { cartItems } from "./schema.ts";
import { num, runBatch, runStatement, statement, str } from "./statements.ts";
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
export function cartLinesStatement(cartId: string, limit: number): InStatement {
  return statement(CART_LINES_SQL, [cartId, limit]);
}

const CART_LINES_SQL = `
  SELECT ci.variant_id AS variantId, ci.quantity AS quantity, v.product_id AS productId,
    v.sku AS sku, v.name AS variantName, v.price_minor AS priceMinor, v.currency AS currency,
    p.slug AS slug, p.name AS productName, p.image_url AS imageUrl, p.is_active AS active,
    coalesce(i.on_hand - i.reserved, 0) AS available, i.variant_id IS NOT NULL AS stocked
  FROM cart_items ci
    JOIN variants v ON v.id = ci.variant_id
    JOIN products p ON p.id = v.product_id
    LEFT JOIN inventory i ON i.variant_id = ci.variant_id
  WHERE ci.cart_id = ?
  ORDER BY ci.added_at, ci.variant_id
  LIMIT ?`;

/** The rows of `cartLinesStatement` as `CartLine`s. */
export function toCartLines(result: ResultSet): CartLine[] {
  return result.rows.map((row) => ({
    variantId: num(row, "variantId"),
    productId: num(row, "productId"),
    slug: str(row, "slug"),
    productName: str(row, "productName"),
    variantName: str(row, "variantName"),
    sku: str(row, "sku"),
    imageUrl: str(row, "imageUrl"),
    priceMinor: num(row, "priceMinor"),
    currency: str(row, "currency"),
    quantity: num(row, "quantity"),
    available: num(row, "available"),
    active: Boolean(row.active),
    stocked: Boolean(row.stocked),
  }));
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
  const lines = toCartLines(
    await runStatement(reader, cartLinesStatement(cartId, limits.maxLines)),
  );
  return summarizeCart(cartId, lines);
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
  const [added, lines] = await runBatch(writer, [
    statement(ADD_ITEM_SQL, [
      cartId,
      quantity,
      Date.now(),
      variantId,
      cartId,
      cartId,
      limits.maxLines,
      limits.maxQuantity,
    ]),
    cartLinesStatement(cartId, limits.maxLines),
  ]);
  if (added.rows.length === 0) throw await explainRefusedAdd(writer, cartId, item, limits);
  return summarizeCart(cartId, toCartLines(lines));
}

const ADD_ITEM_SQL = `
  INSERT INTO cart_items (cart_id, variant_id, quantity, added_at)
  SELECT ?, v.id, ?, ? FROM variants v JOIN products p ON p.id = v.product_id
  WHERE v.id = ? AND p.is_active = 1
    AND (EXISTS (SELECT 1 FROM cart_items WHERE cart_id = ? AND variant_id = v.id)
      OR (SELECT count(*) FROM cart_items WHERE cart_id = ?) < ?)
  ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity
    WHERE cart_items.quantity + excluded.quantity <= ?
  RETURNING quantity`;

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
  const [updated, lines] = await runBatch(writer, [
    statement(
      "UPDATE cart_items SET quantity = ? WHERE cart_id = ? AND variant_id = ? RETURNING quantity",
      [item.quantity, cartId, item.variantId],
    ),
    cartLinesStatement(cartId, limits.maxLines),
  ]);
  if (updated.rows.length === 0) throw new NotInCartError(item.variantId);
  return summarizeCart(cartId, toCartLines(lines));
}

/** Removes one line. */
export async function removeCartItem(
  writer: Db,
  cartId: string,
  variantId: number,
  limits: CartLimits,
): Promise<Cart> {
  const [removed, lines] = await runBatch(writer, [
    statement(
      "DELETE FROM cart_items WHERE cart_id = ? AND variant_id = ? RETURNING variant_id",
      [cartId, variantId],
    ),
    cartLinesStatement(cartId, limits.maxLines),
  ]);
  if (removed.rows.length === 0) throw new NotInCartError(variantId);
  return summarizeCart(cartId, toCartLines(lines));
}

/** Removes every line. */
export async function clearCart(writer: Db, cartId: string): Promise<Cart> {
  await runStatement(writer, statement("DELETE FROM cart_items WHERE cart_id = ?", [cartId]));
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
  const statements = [statement("DELETE FROM cart_items WHERE cart_id = ?", [from])];
  for (const line of moving) {
    statements.push(statement(
      `INSERT INTO cart_items (cart_id, variant_id, quantity, added_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (cart_id, variant_id) DO UPDATE
        SET quantity = min(cart_items.quantity + excluded.quantity, ?)`,
      [into, line.variantId, line.quantity, line.addedAt, limits.maxQuantity],
    ));
  }
  const results = await runBatch(
    writer,
    [...statements, cartLinesStatement(into, limits.maxLines)],
  );
  return summarizeCart(into, toCartLines(results.at(-1)!));
}
