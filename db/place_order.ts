/**
 * Checkout: turns a cart into an order in two round trips to the primary, whatever the number
 * of lines — one read (the cart priced from the live catalog, and a signed-in account's email)
 * and one atomic batch that writes everything:
 *
 *   idempotency key · order · items · first status entry · stock reservation for every line ·
 *   changed products · outbox rows (confirmation mail, cache invalidation) · cart lines removed
 *
 * The database referees every race. The key's primary key makes concurrent replays of one key
 * collide (the losers then return the winner's order), and `inventory`'s CHECK
 * (`reserved <= on_hand`) aborts the whole batch when any line lacks stock, so no interleaving of
 * checkouts on any number of edge nodes can oversell. Nothing is pre-checked with extra queries:
 * the constraint errors are the answer, and are explained after the fact.
 */
import type { InStatement, Row } from "@libsql/client";
import type { Db } from "./client.ts";
import { type CartLine, cartLinesStatement, toCartLines } from "./carts.ts";
import {
  LOW_STOCK_THRESHOLD,
  messageMatches,
  type OrderDetail,
  queueOutbox,
  stockStateChanged,
} from "./orders.ts";
import type { PaymentMethodId, ShippingAddress } from "./schema.ts";
import { num, placeholders, runBatch, runStatement, statement, str } from "./statements.ts";
import { AppError, InvalidParameterError } from "../edge/platform/errors.ts";
import { sha256 } from "../edge/platform/signing.ts";

export interface PlaceOrderRequest {
  cartId: string;
  /** Whose key it is: `u:<user id>` or the guest's cart id. */
  scope: string;
  idempotencyKey: string;
  /** SHA-256 of the canonical request (email, address, shipping, payment). */
  requestHash: string;
  /** The signed-in account; its email is the order's. */
  userId?: string;
  /** A guest's email (ignored for a signed-in account). */
  email?: string;
  shipping: {
    option: { id: string; priceMinor: number; freeOverMinor?: number };
    address: ShippingAddress;
  };
  paymentMethod: PaymentMethodId;
}

export interface PlaceOrderSettings {
  maxLines: number;
  idempotencyTtlMs: number;
}

export interface PlacedOrder {
  order: OrderDetail;
  /** True when the key was seen before and this is that order, unchanged. */
  replayed: boolean;
}

/** A line the order cannot have, with what is left. */
export interface ShortLine {
  variantId: number;
  name: string;
  requested: number;
  available: number;
}

/** Some lines lack stock; nothing was changed. */
export class OutOfStockError extends AppError {
  override name = "OutOfStockError";
  constructor(readonly lines: ShortLine[]) {
    super(
      409,
      "out_of_stock",
      `Not enough stock for ${lines.map((l) => `${l.name} (${l.available} left)`).join(", ")}`,
      { field: "cart", details: { lines } },
    );
  }
}

/** Some lines are no longer sold; nothing was changed. */
export class ItemsUnavailableError extends AppError {
  override name = "ItemsUnavailableError";
  constructor(lines: { variantId: number; name: string }[]) {
    super(
      409,
      "items_unavailable",
      `No longer sold: ${lines.map((l) => l.name).join(", ")}; remove them to check out`,
      { field: "cart", details: { lines } },
    );
  }
}

/** Nothing to order, or more lines than a cart may hold. */
export class InvalidCartError extends AppError {
  override name = "InvalidCartError";
  constructor(code: "cart_empty" | "cart_too_large" | "mixed_currency", message: string) {
    super(422, code, message, { field: "cart" });
  }
}

/** The key was used before for a different request or a different cart. */
export class IdempotencyKeyReusedError extends AppError {
  override name = "IdempotencyKeyReusedError";
  constructor() {
    super(
      422,
      "idempotency_key_reused",
      "This Idempotency-Key was used for a different checkout; use a new key",
      { field: "Idempotency-Key" },
    );
  }
}

/** Places the order for `request`'s cart, or returns the order its key already placed. */
export async function placeOrder(
  writer: Db,
  request: PlaceOrderRequest,
  settings: PlaceOrderSettings,
): Promise<PlacedOrder> {
  // Stock that came back between a refusal and its explanation earns one more try.
  for (let attempt = 1;; attempt++) {
    const outcome = await tryPlaceOrder(writer, request, settings);
    if (!("shortLines" in outcome)) return outcome;
    if (outcome.shortLines.length > 0 || attempt >= 2) {
      throw new OutOfStockError(
        outcome.shortLines.length > 0 ? outcome.shortLines : outcome.requested,
      );
    }
  }
}

async function tryPlaceOrder(
  writer: Db,
  request: PlaceOrderRequest,
  settings: PlaceOrderSettings,
): Promise<PlacedOrder | { shortLines: ShortLine[]; requested: ShortLine[] }> {
  const { lines, accountEmail } = await readCart(writer, request, settings);
  const cartHash = hashLines(lines);
  if (lines.length === 0) {
    // Perhaps this key's order consumed the cart: then this is a replay.
    const { rows: [row] } = await runStatement(writer, keyStatement(request));
    if (row) return replay(row, request, cartHash, lines);
  }
  checkOrderable(lines, settings.maxLines);
  const email = request.userId ? accountEmail : request.email;
  if (!email) throw new InvalidParameterError("email", "email is required for a guest checkout");
  const order = buildOrder(request, lines, email);
  try {
    await runBatch(writer, orderStatements({ request, order, cartHash, settings }));
    return { order, replayed: false };
  } catch (error) {
    if (messageMatches(error, /idempotency_keys/)) {
      // Another request with this key won the race: answer with its order.
      const { rows: [row] } = await runStatement(writer, keyStatement(request));
      if (row) return replay(row, request, cartHash, lines);
    }
    if (!messageMatches(error, /inventory_reserved_within_on_hand/)) throw error;
    return await explainShortage(writer, lines);
  }
}

/**
 * The cart priced from the live catalog (one query for every line), and the account's email for
 * a signed-in shopper (in the same round trip). The key is not looked up here: a new key is the
 * common case, and a known one makes the write fail on its primary key at once.
 */
async function readCart(writer: Db, request: PlaceOrderRequest, settings: PlaceOrderSettings) {
  const lines = cartLinesStatement(request.cartId, settings.maxLines + 1);
  if (!request.userId) return { lines: toCartLines(await runStatement(writer, lines)) };
  const [lineRows, userRows] = await runBatch(writer, [
    lines,
    statement("SELECT email FROM users WHERE id = ?", [request.userId]),
  ]);
  return {
    lines: toCartLines(lineRows),
    accountEmail: userRows.rows[0]?.email as string | undefined,
  };
}

function keyStatement(request: PlaceOrderRequest): InStatement {
  return statement(
    `SELECT request_hash, cart_hash, response_body FROM idempotency_keys
    WHERE scope = ? AND key = ?`,
    [request.scope, request.idempotencyKey],
  );
}

/**
 * A key seen before: the same request returns the same order. The cart may be the one that was
 * ordered, or empty because that order consumed it; anything else is a different checkout.
 */
function replay(row: Row, request: PlaceOrderRequest, cartHash: string, lines: CartLine[]) {
  const sameCart = row.cart_hash === cartHash || lines.length === 0;
  if (row.request_hash !== request.requestHash || !sameCart) {
    throw new IdempotencyKeyReusedError();
  }
  return { order: JSON.parse(str(row, "response_body")) as OrderDetail, replayed: true };
}

function checkOrderable(lines: CartLine[], maxLines: number): void {
  if (lines.length === 0) throw new InvalidCartError("cart_empty", "The cart is empty");
  if (lines.length > maxLines) {
    throw new InvalidCartError("cart_too_large", `A cart may hold at most ${maxLines} lines`);
  }
  const unavailable = lines.filter((line) => !line.active || !line.stocked);
  if (unavailable.length > 0) {
    throw new ItemsUnavailableError(
      unavailable.map((line) => ({ variantId: line.variantId, name: lineName(line) })),
    );
  }
  if (new Set(lines.map((line) => line.currency)).size > 1) {
    throw new InvalidCartError("mixed_currency", "The cart mixes currencies");
  }
}

function lineName(line: CartLine): string {
  return `${line.productName} (${line.variantName})`;
}

/** The order as it will be stored, priced from `lines` (integer minor units throughout). */
function buildOrder(request: PlaceOrderRequest, lines: CartLine[], email: string): OrderDetail {
  const now = Date.now();
  const items = lines.map((line) => ({
    variantId: line.variantId,
    productId: line.productId,
    name: line.productName,
    variantName: line.variantName,
    sku: line.sku,
    quantity: line.quantity,
    unitPriceMinor: line.priceMinor,
    lineTotalMinor: line.priceMinor * line.quantity,
  }));
  const subtotalMinor = items.reduce((sum, item) => sum + item.lineTotalMinor, 0);
  const { option } = request.shipping;
  const free = option.freeOverMinor !== undefined && subtotalMinor >= option.freeOverMinor;
  const shippingMinor = free ? 0 : option.priceMinor;
  return {
    id: crypto.randomUUID(),
    userId: request.userId ?? null,
    email,
    status: "pending",
    currency: lines[0].currency,
    subtotalMinor,
    shippingMinor,
    totalMinor: subtotalMinor + shippingMinor,
    itemCount: items.reduce((sum, item) => sum + item.quantity, 0),
    shippingOption: request.shipping.option.id,
    shippingAddress: request.shipping.address,
    paymentMethod: request.paymentMethod,
    paidAt: null,
    createdAt: now,
    updatedAt: now,
    items,
    history: [{ status: "pending", note: "Order placed", createdAt: now }],
  };
}

/** Every statement of the checkout transaction, in order. */
function orderStatements(input: {
  request: PlaceOrderRequest;
  order: OrderDetail;
  cartHash: string;
  settings: PlaceOrderSettings;
}): InStatement[] {
  const { request, order, cartHash, settings } = input;
  const now = order.createdAt;
  const { items } = order;
  const variantIds = items.map((item) => item.variantId);
  const inVariants = `(${placeholders(items.length)})`;
  // Products whose shown stock changes: a line now at or below the low-stock mark.
  const changed = stockStateChanged({
    productIds: `(SELECT DISTINCT v.product_id FROM variants v
      JOIN inventory i ON i.variant_id = v.id
      WHERE v.id IN ${inVariants} AND i.on_hand - i.reserved <= ${LOW_STOCK_THRESHOLD})`,
    args: variantIds,
    now,
  });
  return [
    statement(
      `INSERT INTO idempotency_keys (scope, key, request_hash, cart_hash, order_id,
        response_status, response_body, created_at, expires_at) VALUES (?, ?, ?, ?, ?, 201, ?, ?, ?)`,
      [
        request.scope,
        request.idempotencyKey,
        request.requestHash,
        cartHash,
        order.id,
        JSON.stringify(order),
        now,
        now + settings.idempotencyTtlMs,
      ],
    ),
    statement(
      `INSERT INTO orders (id, user_id, email, status, currency, subtotal_minor, shipping_minor,
        total_minor, item_count, shipping_option, shipping_address, payment_method, paid_at,
        created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
      [
        order.id,
        order.userId,
        order.email,
        order.currency,
        order.subtotalMinor,
        order.shippingMinor,
        order.totalMinor,
        order.itemCount,
        order.shippingOption,
        JSON.stringify(order.shippingAddress),
        order.paymentMethod,
        now,
        now,
      ],
    ),
    statement(
      `INSERT INTO order_items (order_id, variant_id, product_id, name, variant_name, sku,
        quantity, unit_price_minor) VALUES ${
        items.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")
      }`,
      items.flatMap((item) => [
        order.id,
        item.variantId,
        item.productId,
        item.name,
        item.variantName,
        item.sku,
        item.quantity,
        item.unitPriceMinor,
      ]),
    ),
    statement(
      `INSERT INTO order_status_history (order_id, status, note, created_at)
      VALUES (?, 'pending', 'Order placed', ?)`,
      [order.id, now],
    ),
    // The guard: CHECK (reserved <= on_hand) aborts the whole batch if any line is short.
    statement(
      `UPDATE inventory SET reserved = reserved + CASE variant_id
        ${items.map(() => "WHEN ? THEN ?").join(" ")} END, updated_at = ?
      WHERE variant_id IN ${inVariants}`,
      [...items.flatMap((item) => [item.variantId, item.quantity]), now, ...variantIds],
    ),
    changed.update,
    queueOutbox([
      {
        sql: "SELECT 'order_mail' AS topic, ? AS payload",
        args: [JSON.stringify({ orderId: order.id, kind: "confirmation" })],
      },
      changed.invalidation,
    ], now),
    statement(
      `DELETE FROM cart_items WHERE cart_id = ? AND variant_id IN ${inVariants}`,
      [request.cartId, ...variantIds],
    ),
  ];
}

/** After the stock guard refused: which lines are short right now (one query). */
async function explainShortage(writer: Db, lines: CartLine[]) {
  const { rows } = await runStatement(
    writer,
    statement(
      `SELECT variant_id, on_hand - reserved AS available FROM inventory
      WHERE variant_id IN (${placeholders(lines.length)})`,
      lines.map((line) => line.variantId),
    ),
  );
  const available = new Map(rows.map((row) => [num(row, "variant_id"), num(row, "available")]));
  const describe = (line: CartLine): ShortLine => ({
    variantId: line.variantId,
    name: lineName(line),
    requested: line.quantity,
    available: Math.max(0, available.get(line.variantId) ?? 0),
  });
  return {
    shortLines: lines.filter((line) => (available.get(line.variantId) ?? 0) < line.quantity)
      .map(describe),
    requested: lines.map(describe),
  };
}

/** SHA-256 over the cart's (variant, quantity) pairs, independent of line order. */
function hashLines(lines: CartLine[]): string {
  return sha256(lines.map((line) => `${line.variantId}x${line.quantity}`).sort().join(","));
}
