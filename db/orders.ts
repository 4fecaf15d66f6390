/**
 * Orders after they are placed: the shopper's reads (a fixed number of statements whatever the
 * number of items), the state machine with its stock effects, and payments.
 *
 * The state machine lives twice on purpose: `ORDER_TRANSITIONS` explains refusals, and the
 * trigger in migrations/0004_order_state_machine.sql enforces them inside the database, so no
 * interleaving of writers can apply a transition twice (a test keeps the two in step).
 */
import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { InStatement, InValue, ResultSet } from "@libsql/client";
import { base64url } from "jose";
import type { Db } from "./client.ts";
import {
  ORDER_STATUSES,
  orderItems,
  orders,
  type OrderStatus,
  orderStatusHistory,
  type PaymentMethodId,
  type ShippingAddress,
} from "./schema.ts";
import { runBatch, statement } from "./statements.ts";
import { AppError, InvalidParameterError, NotFoundError } from "../edge/platform/errors.ts";

export { ORDER_STATUSES };
export type { OrderStatus };

/** Which statuses each status may move to (pending → shipped only for pay on delivery). */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ["paid", "shipped", "cancelled"],
  paid: ["shipped", "cancelled"],
  shipped: ["delivered"],
  delivered: [],
  cancelled: [],
};

/** Whether an order in `from`, paid by `method`, may move to `to`. */
export function canTransition(from: OrderStatus, to: OrderStatus, method: PaymentMethodId) {
  if (from === "pending" && to === "shipped") return method === "pay_on_delivery";
  return ORDER_TRANSITIONS[from].includes(to);
}

/**
 * Available stock at or below which the product page names the count ("Only 3 left"); a
 * change there changes what shoppers see, so the product's cached pages are invalidated.
 * Mirrors `stockLabel` in islands/format.ts.
 */
export const LOW_STOCK_THRESHOLD = 5;

/** Most status entries an order view carries (newest first). */
export const MAX_HISTORY_ENTRIES = 20;
/** Largest page of `listOrders`. */
export const MAX_ORDER_PAGE = 50;

export interface OrderItemView {
  variantId: number;
  productId: number;
  name: string;
  variantName: string;
  sku: string;
  quantity: number;
  unitPriceMinor: number;
  lineTotalMinor: number;
}

export interface OrderStatusEntry {
  status: OrderStatus;
  note: string;
  createdAt: number;
}

export interface OrderSummary {
  id: string;
  /** The account that placed it; null for a guest. */
  userId: string | null;
  email: string;
  status: OrderStatus;
  currency: string;
  subtotalMinor: number;
  shippingMinor: number;
  totalMinor: number;
  itemCount: number;
  shippingOption: string;
  paymentMethod: PaymentMethodId;
  paidAt: number | null;
  createdAt: number;
  updatedAt: number;
  items: OrderItemView[];
}

export interface OrderDetail extends OrderSummary {
  shippingAddress: ShippingAddress;
  /** The latest status entries, newest first (at most `MAX_HISTORY_ENTRIES`). */
  history: OrderStatusEntry[];
}

/** The transition is not allowed from the order's current status. */
export class OrderTransitionError extends AppError {
  override name = "OrderTransitionError";
  constructor(from: OrderStatus, to: OrderStatus) {
    super(409, "invalid_transition", `An order that is ${from} cannot become ${to}`, {
      field: "status",
      details: { from, to },
    });
  }
}

/** A payment event id that was already applied. */
export class DuplicatePaymentEventError extends AppError {
  override name = "DuplicatePaymentEventError";
  constructor(eventId: string) {
    super(409, "duplicate_event", `Event "${eventId}" was already processed`, { field: "id" });
  }
}

/** A payment whose amount or currency is not the order's total. */
export class PaymentMismatchError extends AppError {
  override name = "PaymentMismatchError";
  constructor(message: string) {
    super(422, "payment_mismatch", message, { field: "amountMinor" });
  }
}

const summaryColumns = {
  id: orders.id,
  userId: orders.userId,
  email: orders.email,
  status: orders.status,
  currency: orders.currency,
  subtotalMinor: orders.subtotalMinor,
  shippingMinor: orders.shippingMinor,
  totalMinor: orders.totalMinor,
  itemCount: orders.itemCount,
  shippingOption: orders.shippingOption,
  paymentMethod: orders.paymentMethod,
  paidAt: orders.paidAt,
  createdAt: orders.createdAt,
  updatedAt: orders.updatedAt,
};

const itemColumns = {
  orderId: orderItems.orderId,
  variantId: orderItems.variantId,
  productId: orderItems.productId,
  name: orderItems.name,
  variantName: orderItems.variantName,
  sku: orderItems.sku,
  quantity: orderItems.quantity,
  unitPriceMinor: orderItems.unitPriceMinor,
};

type ItemRow = { orderId: string } & Omit<OrderItemView, "lineTotalMinor">;

function toItem({ orderId: _, ...row }: ItemRow): OrderItemView {
  return { ...row, lineTotalMinor: row.unitPriceMinor * row.quantity };
}

/** The three statements of one order view: the order, its items, its latest status entries. */
function orderDetailQueries(db: Db, orderId: string) {
  return [
    db.select({ ...summaryColumns, shippingAddress: orders.shippingAddress }).from(orders)
      .where(eq(orders.id, orderId)).limit(1),
    db.select(itemColumns).from(orderItems).where(eq(orderItems.orderId, orderId))
      .orderBy(asc(orderItems.id)),
    db.select({
      status: orderStatusHistory.status,
      note: orderStatusHistory.note,
      createdAt: orderStatusHistory.createdAt,
    }).from(orderStatusHistory).where(eq(orderStatusHistory.orderId, orderId))
      .orderBy(desc(orderStatusHistory.createdAt), desc(orderStatusHistory.id))
      .limit(MAX_HISTORY_ENTRIES),
  ] as const;
}

function readOrderDetail(db: Db, orderId: string) {
  return db.batch(orderDetailQueries(db, orderId));
}

type DetailRows = Awaited<ReturnType<typeof readOrderDetail>>;

function toOrderDetail([orderRows, itemRows, historyRows]: DetailRows): OrderDetail | undefined {
  const [order] = orderRows;
  if (!order) return undefined;
  return { ...order, items: itemRows.map(toItem), history: historyRows };
}

/** One order with its items and latest status entries: three statements in one round trip. */
export async function getOrder(reader: Db, orderId: string): Promise<OrderDetail | undefined> {
  return toOrderDetail(await readOrderDetail(reader, orderId));
}

/** Orders (with items) by id, for the outbox worker: two statements for any number of orders. */
export async function getOrdersWithItems(db: Db, ids: string[]): Promise<Map<string, OrderDetail>> {
  if (ids.length === 0) return new Map();
  const [orderRows, itemRows] = await db.batch([
    db.select({ ...summaryColumns, shippingAddress: orders.shippingAddress }).from(orders)
      .where(inArray(orders.id, ids)),
    db.select(itemColumns).from(orderItems).where(inArray(orderItems.orderId, ids))
      .orderBy(asc(orderItems.id)),
  ]);
  const found = new Map<string, OrderDetail>();
  for (const order of orderRows) found.set(order.id, { ...order, items: [], history: [] });
  for (const item of itemRows) found.get(item.orderId)?.items.push(toItem(item));
  return found;
}

export interface OrderPage {
  items: OrderSummary[];
  nextCursor: string | null;
}

/**
 * A shopper's orders, newest first, keyset-paginated on (created, id): two statements in one
 * round trip whatever the page size or number of items.
 */
export async function listOrders(
  reader: Db,
  userId: string,
  options: { limit: number; cursor?: string },
): Promise<OrderPage> {
  const limit = Math.max(1, Math.min(options.limit, MAX_ORDER_PAGE));
  const conditions: SQL[] = [eq(orders.userId, userId)];
  if (options.cursor !== undefined) {
    const [createdAt, id] = decodeOrderCursor(options.cursor);
    conditions.push(sql`(${orders.createdAt}, ${orders.id}) < (${createdAt}, ${id})`);
  }
  const newestFirst = [desc(orders.createdAt), desc(orders.id)];
  const pageIds = reader.select({ id: orders.id }).from(orders).where(and(...conditions))
    .orderBy(...newestFirst).limit(limit);
  const [orderRows, itemRows] = await reader.batch([
    reader.select(summaryColumns).from(orders).where(and(...conditions))
      .orderBy(...newestFirst).limit(limit + 1),
    reader.select(itemColumns).from(orderItems).where(inArray(orderItems.orderId, pageIds))
      .orderBy(asc(orderItems.id)),
  ]);
  const page = orderRows.slice(0, limit).map((row): OrderSummary => ({ ...row, items: [] }));
  const byId = new Map(page.map((order) => [order.id, order]));
  for (const item of itemRows) byId.get(item.orderId)?.items.push(toItem(item));
  const last = page.at(-1);
  return {
    items: page,
    nextCursor: orderRows.length > limit && last
      ? base64url.encode(JSON.stringify([last.createdAt, last.id]))
      : null,
  };
}

function decodeOrderCursor(cursor: string): [number, string] {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(base64url.decode(cursor)));
    if (
      Array.isArray(parsed) && parsed.length === 2 && Number.isSafeInteger(parsed[0]) &&
      typeof parsed[1] === "string" && parsed[1].length <= 64
    ) {
      return parsed as [number, string];
    }
  } catch {
    // reported below
  }
  throw new InvalidParameterError("cursor", `Cursor "${cursor}" is not valid`);
}

/** What a status change does to stock, and the outbox rows that follow from it. */
function stockEffects(
  orderId: string,
  to: OrderStatus,
  now: number,
): { statements: InStatement[]; outbox: OutboxRows[] } {
  const quantityOf = `(SELECT sum(quantity) FROM order_items
    WHERE order_id = ? AND variant_id = inventory.variant_id)`;
  const ordered = "(SELECT variant_id FROM order_items WHERE order_id = ?)";
  if (to === "shipped") {
    // The reserved units leave the warehouse: available stock does not change.
    return {
      statements: [statement(
        `UPDATE inventory SET on_hand = on_hand - ${quantityOf},
          reserved = reserved - ${quantityOf}, updated_at = ? WHERE variant_id IN ${ordered}`,
        [orderId, orderId, now, orderId],
      )],
      outbox: [],
    };
  }
  if (to !== "cancelled") return { statements: [], outbox: [] };
  // Restock: the reservation is released, so every product of the order may show more stock.
  const changed = stockStateChanged({
    productIds: "(SELECT DISTINCT product_id FROM order_items WHERE order_id = ?)",
    args: [orderId],
    now,
  });
  return {
    statements: [
      statement(
        `UPDATE inventory SET reserved = reserved - ${quantityOf}, updated_at = ?
        WHERE variant_id IN ${ordered}`,
        [orderId, now, orderId],
      ),
      changed.update,
    ],
    outbox: [changed.invalidation],
  };
}

/** A SELECT yielding outbox rows as (topic, payload), and its parameters. */
export interface OutboxRows {
  sql: string;
  args: InValue[];
}

/**
 * One INSERT queueing every outbox row a transaction produces (one statement, however many
 * kinds of side effect), due at once.
 */
export function queueOutbox(rows: OutboxRows[], now: number): InStatement {
  return statement(
    `INSERT INTO outbox (topic, payload, state, attempts, available_at, created_at, updated_at)
    SELECT topic, payload, 'pending', 0, ?, ?, ?
    FROM (${rows.map((row) => row.sql).join(" UNION ALL ")})`,
    [now, now, now, ...rows.flatMap((row) => row.args)],
  );
}

/**
 * The products in `productIds` (a subquery whose parameters are `args`) changed what shoppers
 * see of their stock: `update` bumps their version and recomputes `in_stock`, and
 * `invalidation` is the outbox row that refreshes their cached pages (none if the set is empty).
 */
export function stockStateChanged(
  input: { productIds: string; args: InValue[]; now: number },
): { update: InStatement; invalidation: OutboxRows } {
  const { productIds, args, now } = input;
  return {
    update: statement(
      `UPDATE products SET version = version + 1, updated_at = ?,
        in_stock = EXISTS (SELECT 1 FROM inventory i JOIN variants v ON v.id = i.variant_id
          WHERE v.product_id = products.id AND i.on_hand - i.reserved > 0)
      WHERE id IN ${productIds}`,
      [now, ...args],
    ),
    invalidation: {
      sql: `SELECT 'invalidate_products' AS topic, json_object('products', json(changed)) AS payload
        FROM (SELECT json_group_array(json_object('productId', id, 'categoryId', category_id,
            'slug', slug, 'version', version, 'featured', is_featured)) AS changed, count(*) AS n
          FROM products WHERE id IN ${productIds})
        WHERE n > 0`,
      args,
    },
  };
}

/** The statements of one transition: status (the trigger referees), stock, history, mail. */
function transitionStatements(
  orderId: string,
  to: OrderStatus,
  options: { note: string; now: number },
): InStatement[] {
  const { now } = options;
  // Paying sets paid_at; so does delivering an order paid on delivery.
  const paidAt = to === "paid"
    ? { sql: "coalesce(paid_at, ?)", args: [now] }
    : to === "delivered"
    ? {
      sql: "coalesce(paid_at, CASE WHEN payment_method = 'pay_on_delivery' THEN ? END)",
      args: [now],
    }
    : { sql: "paid_at", args: [] };
  const effects = stockEffects(orderId, to, now);
  return [
    statement(
      `UPDATE orders SET status = ?, updated_at = ?, paid_at = ${paidAt.sql} WHERE id = ?
      RETURNING id`,
      [to, now, ...paidAt.args, orderId],
    ),
    ...effects.statements,
    statement(
      `INSERT INTO order_status_history (order_id, status, note, created_at)
      SELECT id, ?, ?, ? FROM orders WHERE id = ?`,
      [to, options.note, now, orderId],
    ),
    queueOutbox([
      ...effects.outbox,
      {
        sql: `SELECT 'order_mail' AS topic, json_object('orderId', id, 'kind', ?) AS payload
          FROM orders WHERE id = ?`,
        args: [to, orderId],
      },
    ], now),
  ];
}

/** Runs a transition in one transaction, then reads the order back; a refusal is a 409. */
async function applyTransition(
  writer: Db,
  orderId: string,
  to: OrderStatus,
  first: InStatement[],
  note: string,
): Promise<OrderDetail> {
  let results: ResultSet[];
  try {
    results = await runBatch(
      writer,
      [...first, ...transitionStatements(orderId, to, { note, now: Date.now() })],
    );
  } catch (error) {
    if (!messageMatches(error, /order_transition_refused/)) throw error;
    const current = await getOrder(writer, orderId);
    if (!current) throw new NotFoundError(`Order ${orderId} does not exist`);
    throw new OrderTransitionError(current.status, to);
  }
  const order = results[first.length].rows.length > 0 ? await getOrder(writer, orderId) : undefined;
  if (!order) throw new NotFoundError(`Order ${orderId} does not exist`);
  return order;
}

/**
 * Moves an order to `to` in one transaction with its effects: cancelling restocks (and
 * invalidates the products' pages), shipping takes the units off the shelf, each change adds a
 * status entry and queues a mail to the shopper.
 */
export async function transitionOrder(
  writer: Db,
  orderId: string,
  to: OrderStatus,
  options: { note?: string } = {},
): Promise<OrderDetail> {
  return await applyTransition(writer, orderId, to, [], options.note ?? "");
}

export interface PaymentEvent {
  id: string;
  orderId: string;
  amountMinor: number;
  currency: string;
}

/**
 * Applies a provider's "payment succeeded" event exactly once: the event id is remembered in
 * the same transaction that marks the order paid, so a replay is refused and changes nothing.
 */
export async function recordPayment(writer: Db, event: PaymentEvent): Promise<OrderDetail> {
  const order = await getOrder(writer, event.orderId);
  if (!order) throw new NotFoundError(`Order ${event.orderId} does not exist`);
  if (event.amountMinor !== order.totalMinor || event.currency !== order.currency) {
    throw new PaymentMismatchError(
      `Payment of ${event.amountMinor} ${event.currency} does not match the order total of ` +
        `${order.totalMinor} ${order.currency}`,
    );
  }
  const remember = statement(
    `INSERT INTO payment_events (id, order_id, type, received_at)
    VALUES (?, ?, 'payment.succeeded', ?)`,
    [event.id, event.orderId, Date.now()],
  );
  try {
    return await applyTransition(writer, event.orderId, "paid", [remember], "Payment received");
  } catch (error) {
    if (messageMatches(error, /payment_events/)) throw new DuplicatePaymentEventError(event.id);
    throw error;
  }
}

/** True when `error` or one of its causes has a message matching `pattern`. */
export function messageMatches(error: unknown, pattern: RegExp): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof Error && pattern.test(current.message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
