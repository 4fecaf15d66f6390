/**
 * The shop's tables. Money is integer minor units plus an ISO currency code; times are Unix ms.
 *
 * Every index here serves a query in db/*.ts; the comment next to it names which.
 */
import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

export const categories = sqliteTable("categories", {
  id: integer("id").primaryKey(),
  slug: text("slug").notNull(),
  name: text("name").notNull(),
  description: text("description").notNull().default(""),
  parentId: integer("parent_id"),
  position: integer("position").notNull().default(0),
}, (t) => [
  uniqueIndex("categories_slug_unique").on(t.slug), // getCategoryBySlug
  index("categories_position_idx").on(t.position, t.id), // listCategories
]);

export const products = sqliteTable("products", {
  id: integer("id").primaryKey(),
  slug: text("slug").notNull(),
  categoryId: integer("category_id").notNull().references(() => categories.id),
  name: text("name").notNull(),
  description: text("description").notNull(),
  brand: text("brand").notNull(),
  /** Lowest variant price, kept here so listings filter and sort without a join. */
  priceMinor: integer("price_minor").notNull(),
  currency: text("currency").notNull(),
  /** 1 when any variant has stock available; maintained with inventory. */
  inStock: integer("in_stock", { mode: "boolean" }).notNull(),
  isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
  isFeatured: integer("is_featured", { mode: "boolean" }).notNull().default(false),
  /** Default "featured" sort order: higher first. */
  popularity: integer("popularity").notNull().default(0),
  imageUrl: text("image_url").notNull(),
  /** Bumped on every change; part of ETags and cache invalidation. */
  version: integer("version").notNull().default(1),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  uniqueIndex("products_slug_unique").on(t.slug), // getProductBySlug
  // listProducts within a category, one index per sort key (keyset pagination on sort key + id)
  index("products_category_popular_idx").on(t.categoryId, t.isActive, t.popularity, t.id),
  index("products_category_price_idx").on(t.categoryId, t.isActive, t.priceMinor, t.id),
  index("products_category_newest_idx").on(t.categoryId, t.isActive, t.createdAt, t.id),
  index("products_category_name_idx").on(t.categoryId, t.isActive, t.name, t.id),
  // listProducts across all categories
  index("products_active_popular_idx").on(t.isActive, t.popularity, t.id),
  index("products_active_price_idx").on(t.isActive, t.priceMinor, t.id),
  index("products_active_newest_idx").on(t.isActive, t.createdAt, t.id),
  index("products_active_name_idx").on(t.isActive, t.name, t.id),
  // listFeaturedProducts (home)
  index("products_featured_idx").on(t.isFeatured, t.isActive, t.popularity),
  check("products_price_nonnegative", sql`${t.priceMinor} >= 0`),
]);

export const variants = sqliteTable("variants", {
  id: integer("id").primaryKey(),
  productId: integer("product_id").notNull().references(() => products.id),
  sku: text("sku").notNull(),
  name: text("name").notNull(),
  /** Option values as JSON, e.g. {"Color":"Red","Size":"M"}. */
  options: text("options", { mode: "json" }).$type<Record<string, string>>().notNull(),
  priceMinor: integer("price_minor").notNull(),
  currency: text("currency").notNull(),
  position: integer("position").notNull().default(0),
}, (t) => [
  uniqueIndex("variants_sku_unique").on(t.sku),
  index("variants_product_idx").on(t.productId, t.position), // getProductBySlug
  check("variants_price_nonnegative", sql`${t.priceMinor} >= 0`),
]);

export const inventory = sqliteTable("inventory", {
  variantId: integer("variant_id").primaryKey().references(() => variants.id),
  onHand: integer("on_hand").notNull(),
  /** Units held by accepted orders not yet shipped. Available = onHand - reserved. */
  reserved: integer("reserved").notNull().default(0),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  check("inventory_on_hand_nonnegative", sql`${t.onHand} >= 0`),
  check(
    "inventory_reserved_within_on_hand",
    sql`${t.reserved} >= 0 AND ${t.reserved} <= ${t.onHand}`,
  ),
]);

export const productImages = sqliteTable("product_images", {
  id: integer("id").primaryKey(),
  productId: integer("product_id").notNull().references(() => products.id),
  url: text("url").notNull(),
  alt: text("alt").notNull(),
  position: integer("position").notNull().default(0),
}, (t) => [
  index("product_images_product_idx").on(t.productId, t.position), // getProductBySlug
]);

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Normalized (trimmed, lower-cased) address. */
  email: text("email").notNull(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ["customer", "admin"] }).notNull().default("customer"),
  name: text("name").notNull().default(""),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  uniqueIndex("users_email_unique").on(t.email), // login
]);

export const refreshTokens = sqliteTable("refresh_tokens", {
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id),
  /** All tokens rotated from one login share a family; reuse of a rotated one revokes it. */
  familyId: text("family_id").notNull(),
  /** SHA-256 of the opaque token; the token itself is never stored. */
  tokenHash: text("token_hash").notNull(),
  expiresAt: integer("expires_at").notNull(),
  createdAt: integer("created_at").notNull(),
  rotatedAt: integer("rotated_at"),
  revokedAt: integer("revoked_at"),
}, (t) => [
  uniqueIndex("refresh_tokens_hash_unique").on(t.tokenHash), // refresh
  index("refresh_tokens_family_idx").on(t.familyId), // revoke family
  index("refresh_tokens_user_idx").on(t.userId), // revoke all of a user's sessions
]);

export const ORDER_STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const PAYMENT_METHODS = ["pay_on_delivery"] as const;
export type PaymentMethodId = (typeof PAYMENT_METHODS)[number];

/** A cart line. Anonymous carts are keyed `a:<uuid>` (signed cookie), signed-in carts `u:<user id>`. */
export const cartItems = sqliteTable("cart_items", {
  cartId: text("cart_id").notNull(),
  variantId: integer("variant_id").notNull().references(() => variants.id),
  quantity: integer("quantity").notNull(),
  addedAt: integer("added_at").notNull(),
}, (t) => [
  primaryKey({ columns: [t.cartId, t.variantId] }), // getCart, every cart write
  // The configured bound (CART_MAX_QUANTITY) is checked first; this is the backstop.
  check("cart_items_quantity_range", sql`${t.quantity} BETWEEN 1 AND 999`),
]);

/** Where an order goes: validated by routes/checkout, stored as JSON on the order. */
export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  region?: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  phone?: string;
}

export const orders = sqliteTable("orders", {
  id: text("id").primaryKey(),
  /** The account that placed it; null for a guest checkout. */
  userId: text("user_id").references(() => users.id),
  email: text("email").notNull(),
  status: text("status", { enum: ORDER_STATUSES }).notNull(),
  currency: text("currency").notNull(),
  subtotalMinor: integer("subtotal_minor").notNull(),
  shippingMinor: integer("shipping_minor").notNull().default(0),
  totalMinor: integer("total_minor").notNull(),
  itemCount: integer("item_count").notNull().default(0),
  shippingOption: text("shipping_option").notNull().default("standard"),
  shippingAddress: text("shipping_address", { mode: "json" }).$type<ShippingAddress>().notNull(),
  paymentMethod: text("payment_method", { enum: PAYMENT_METHODS }).notNull()
    .default("pay_on_delivery"),
  paidAt: integer("paid_at"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  index("orders_user_created_idx").on(t.userId, t.createdAt, t.id), // order history, newest first
  check(
    "orders_status_known",
    sql`${t.status} IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')`,
  ),
  check("orders_total_adds_up", sql`${t.totalMinor} = ${t.subtotalMinor} + ${t.shippingMinor}`),
]);

export const orderItems = sqliteTable("order_items", {
  id: integer("id").primaryKey(),
  orderId: text("order_id").notNull().references(() => orders.id),
  variantId: integer("variant_id").notNull().references(() => variants.id),
  productId: integer("product_id").notNull().references(() => products.id),
  /** Product name at the time of the order. */
  name: text("name").notNull(),
  variantName: text("variant_name").notNull().default(""),
  sku: text("sku").notNull().default(""),
  quantity: integer("quantity").notNull(),
  unitPriceMinor: integer("unit_price_minor").notNull(),
}, (t) => [
  index("order_items_order_idx").on(t.orderId), // order detail, order list
  check("order_items_quantity_positive", sql`${t.quantity} > 0`),
]);

export const orderStatusHistory = sqliteTable("order_status_history", {
  id: integer("id").primaryKey(),
  orderId: text("order_id").notNull().references(() => orders.id),
  status: text("status", { enum: ORDER_STATUSES }).notNull(),
  note: text("note").notNull().default(""),
  createdAt: integer("created_at").notNull(),
}, (t) => [
  index("order_status_history_order_idx").on(t.orderId, t.createdAt), // order timeline
]);

export const idempotencyKeys = sqliteTable("idempotency_keys", {
  /** Whose key it is: `u:<user id>` or a guest's `a:<cart id>`, so shoppers never collide. */
  scope: text("scope").notNull(),
  key: text("key").notNull(),
  /** SHA-256 of the request body: the same key with a different body is refused. */
  requestHash: text("request_hash").notNull(),
  /** SHA-256 of the cart lines that were ordered: the same key with another cart is refused. */
  cartHash: text("cart_hash").notNull(),
  orderId: text("order_id").notNull(),
  responseStatus: integer("response_status").notNull(),
  responseBody: text("response_body").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
}, (t) => [
  primaryKey({ columns: [t.scope, t.key] }), // replay lookup; the insert is the race's referee
  index("idempotency_keys_expires_idx").on(t.expiresAt), // purge of expired keys
]);

export const OUTBOX_TOPICS = ["order_mail", "invalidate_products"] as const;
export type OutboxTopic = (typeof OUTBOX_TOPICS)[number];
export const OUTBOX_STATES = ["pending", "done", "dead"] as const;

/**
 * Side effects of a write, stored in the same transaction as the write (transactional outbox)
 * and carried out later by the worker in routes/orders/outbox_worker.ts.
 */
export const outbox = sqliteTable("outbox", {
  id: integer("id").primaryKey(),
  topic: text("topic", { enum: OUTBOX_TOPICS }).notNull(),
  payload: text("payload", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  state: text("state", { enum: OUTBOX_STATES }).notNull().default("pending"),
  attempts: integer("attempts").notNull().default(0),
  /** Not claimable before this time: set by retries (backoff) and by claims (lease). */
  availableAt: integer("available_at").notNull(),
  claimedBy: text("claimed_by"),
  lastError: text("last_error"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
}, (t) => [
  index("outbox_due_idx").on(t.state, t.availableAt, t.id), // claimOutboxRows
]);

/** The mail sink: messages the shop has "sent" (no mail server runs here). */
export const mailMessages = sqliteTable("mail_messages", {
  id: integer("id").primaryKey(),
  /** One message per purpose, e.g. `order_confirmation:<order id>`: redelivery is a no-op. */
  dedupeKey: text("dedupe_key").notNull(),
  recipient: text("recipient").notNull(),
  subject: text("subject").notNull(),
  body: text("body").notNull(),
  createdAt: integer("created_at").notNull(),
}, (t) => [
  uniqueIndex("mail_messages_dedupe_unique").on(t.dedupeKey), // exactly-once delivery
]);

/** Payment provider events already applied: a replayed event id changes nothing. */
export const paymentEvents = sqliteTable("payment_events", {
  id: text("id").primaryKey(),
  orderId: text("order_id").notNull(),
  type: text("type").notNull(),
  receivedAt: integer("received_at").notNull(),
}, (t) => [
  index("payment_events_received_idx").on(t.receivedAt), // purge after the replay window
]);

export type Category = typeof categories.$inferSelect;
export type Product = typeof products.$inferSelect;
export type Variant = typeof variants.$inferSelect;
export type User = typeof users.$inferSelect;
export type Order = typeof orders.$inferSelect;
export type OrderItem = typeof orderItems.$inferSelect;
export type OutboxRow = typeof outbox.$inferSelect;
