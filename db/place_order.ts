/**
 * Checkout: turns a cart into an order in two round trips to the primary, whatever the number
 * of lines — one read (the cart priced from the live catalog, the idempotency key, the
 * account's email) and one atomic batch that writes everything:
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
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { type CartLine, cartLinesQuery, toCartLine } from "./carts.ts";
import {
  LOW_STOCK_THRESHOLD,
  messageMatches,
  type OrderDetail,
  stockStateChanged,
} from "./orders.ts";
import {
  cartItems,
  idempotencyKeys,
  inventory,
  orderItems,
  orders,
  orderStatusHistory,
  outbox,
  type PaymentMethodId,
  type ShippingAddress,
  users,
} from "./schema.ts";
import { AppError, InvalidParameterError } from "../edge/platform/errors.ts";

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
  shipping: { option: { id: string; priceMinor: number }; address: ShippingAddress };
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

type KeyRow = { requestHash: string; cartHash: string; responseBody: string };

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
  const [lineRows, keyRows, userRows] = await writer.batch([
    cartLinesQuery(writer, request.cartId, settings.maxLines + 1),
    keyQuery(writer, request),
    writer.select({ email: users.email }).from(users)
      .where(eq(users.id, request.userId ?? "")).limit(1),
  ]);
  const lines = lineRows.map(toCartLine);
  const cartHash = await hashLines(lines);
  if (keyRows[0]) return replay(keyRows[0], request, cartHash, lines);
  checkOrderable(lines, settings.maxLines);
  const email = request.userId ? userRows[0]?.email : request.email;
  if (!email) throw new InvalidParameterError("email", "email is required for a guest checkout");
  const order = buildOrder(request, lines, email);
  try {
    await writer.batch(orderStatements(writer, { request, order, cartHash, settings }));
    return { order, replayed: false };
  } catch (error) {
    if (messageMatches(error, /idempotency_keys/)) {
      // Another request with this key won the race: answer with its order.
      const [row] = await keyQuery(writer, request);
      if (row) return replay(row, request, cartHash, lines);
    }
    if (!messageMatches(error, /inventory_reserved_within_on_hand/)) throw error;
    return await explainShortage(writer, lines);
  }
}

function keyQuery(writer: Db, request: PlaceOrderRequest) {
  return writer.select({
    requestHash: idempotencyKeys.requestHash,
    cartHash: idempotencyKeys.cartHash,
    responseBody: idempotencyKeys.responseBody,
  }).from(idempotencyKeys)
    .where(and(
      eq(idempotencyKeys.scope, request.scope),
      eq(idempotencyKeys.key, request.idempotencyKey),
    )).limit(1);
}

/**
 * A key seen before: the same request returns the same order. The cart may be the one that was
 * ordered, or empty because that order consumed it; anything else is a different checkout.
 */
function replay(row: KeyRow, request: PlaceOrderRequest, cartHash: string, lines: CartLine[]) {
  const sameCart = row.cartHash === cartHash || lines.length === 0;
  if (row.requestHash !== request.requestHash || !sameCart) throw new IdempotencyKeyReusedError();
  return { order: JSON.parse(row.responseBody) as OrderDetail, replayed: true };
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
  const shippingMinor = request.shipping.option.priceMinor;
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
function orderStatements(
  writer: Db,
  input: {
    request: PlaceOrderRequest;
    order: OrderDetail;
    cartHash: string;
    settings: PlaceOrderSettings;
  },
) {
  const { request, order, cartHash, settings } = input;
  const now = order.createdAt;
  const variantIds = order.items.map((item) => item.variantId);
  const quantities = sql.join(
    order.items.map((item) => sql`WHEN ${item.variantId} THEN ${item.quantity}`),
    sql` `,
  );
  // Products whose shown stock changes: a line now at or below the low-stock mark.
  const touched = sql`(SELECT DISTINCT v.product_id FROM variants v
    JOIN inventory i ON i.variant_id = v.id
    WHERE v.id IN ${variantIds} AND i.on_hand - i.reserved <= ${LOW_STOCK_THRESHOLD})`;
  const { items, history: _, ...row } = order;
  return [
    writer.insert(idempotencyKeys).values({
      scope: request.scope,
      key: request.idempotencyKey,
      requestHash: request.requestHash,
      cartHash,
      orderId: order.id,
      responseStatus: 201,
      responseBody: JSON.stringify(order),
      createdAt: now,
      expiresAt: now + settings.idempotencyTtlMs,
    }),
    writer.insert(orders).values(row),
    writer.insert(orderItems).values(items.map(({ lineTotalMinor: _, ...item }) => ({
      ...item,
      orderId: order.id,
    }))),
    writer.insert(orderStatusHistory).values({
      orderId: order.id,
      status: "pending",
      note: "Order placed",
      createdAt: now,
    }),
    // The guard: CHECK (reserved <= on_hand) aborts the whole batch if any line is short.
    writer.update(inventory).set({
      reserved: sql`${inventory.reserved} + CASE ${inventory.variantId} ${quantities} END`,
      updatedAt: now,
    }).where(inArray(inventory.variantId, variantIds)),
    ...stockStateChanged(writer, touched, now),
    writer.insert(outbox).values({
      topic: "order_mail",
      payload: { orderId: order.id, kind: "confirmation" },
      availableAt: now,
      createdAt: now,
      updatedAt: now,
    }),
    writer.delete(cartItems).where(
      and(eq(cartItems.cartId, request.cartId), inArray(cartItems.variantId, variantIds)),
    ),
  ] as const;
}

/** After the stock guard refused: which lines are short right now (one query). */
async function explainShortage(writer: Db, lines: CartLine[]) {
  const rows = await writer.select({
    variantId: inventory.variantId,
    available: sql<number>`${inventory.onHand} - ${inventory.reserved}`,
  }).from(inventory).where(inArray(inventory.variantId, lines.map((line) => line.variantId)));
  const available = new Map(rows.map((row) => [row.variantId, row.available]));
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
async function hashLines(lines: CartLine[]): Promise<string> {
  const canonical = lines.map((line) => `${line.variantId}x${line.quantity}`).sort().join(",");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
