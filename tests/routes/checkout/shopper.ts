/**
 * A test shopper: a cookie jar and JSON helpers over `app.request`, so tests read like a
 * shopper's steps (add to cart, check out) against one or several shop instances.
 */
import type { Hono } from "hono";
import { sql } from "drizzle-orm";
import type { Db } from "../../../db/client.ts";

export const ORIGIN = "http://localhost";

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; field?: string; message: string } };
}

export class Shopper {
  readonly cookies = new Map<string, string>();
  constructor(public app: Hono, public token?: string) {}

  /** Sends a request with the jar's cookies; stores the cookies it sets. */
  async send(
    method: string,
    path: string,
    options: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } =
      {},
  ): Promise<Response> {
    const headers: Record<string, string> = { origin: ORIGIN, ...options.headers };
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = typeof options.json === "string" ? options.json : JSON.stringify(options.json);
    } else if (options.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form).toString();
    }
    const response = await this.app.request(ORIGIN + path, { method, headers, body });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const expired = attributes.some((a) => /max-age=0/i.test(a.trim()));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
    return response;
  }

  /** Sends and parses a JSON answer. */
  async json(
    method: string,
    path: string,
    options: { json?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const response = await this.send(method, path, options);
    return { status: response.status, headers: response.headers, body: await response.json() };
  }

  add(variantId: number, quantity = 1): Promise<Answer> {
    return this.json("POST", "/api/cart/items", { json: { variantId, quantity } });
  }

  checkout(key: string | undefined, body: unknown = guestCheckout()): Promise<Answer> {
    return this.json("POST", "/api/checkout", {
      json: body,
      headers: key === undefined ? {} : { "idempotency-key": key },
    });
  }
}

/** A valid guest checkout body; override any part. */
export function guestCheckout(overrides: Record<string, unknown> = {}) {
  return {
    email: "guest@example.com",
    shippingAddress: {
      name: "Ada Lovelace",
      line1: "12 Analytical Row",
      city: "London",
      postalCode: "N1 9GU",
      country: "GB",
    },
    shippingOption: "standard",
    ...overrides,
  };
}

/** Active variants with at least `minStock` available, in id order. */
export async function stockedVariants(
  db: Db,
  options: { minStock?: number; count?: number } = {},
): Promise<{ id: number; productId: number; available: number; priceMinor: number }[]> {
  return await db.all(sql`
    SELECT v.id, v.product_id AS productId, v.price_minor AS priceMinor,
      i.on_hand - i.reserved AS available
    FROM variants v JOIN inventory i ON i.variant_id = v.id JOIN products p ON p.id = v.product_id
    WHERE p.is_active = 1 AND i.on_hand - i.reserved >= ${options.minStock ?? 1}
    ORDER BY v.id LIMIT ${options.count ?? 10}`);
}

/** Sets a variant's stock (units on hand, nothing reserved). */
export async function setStock(db: Db, variantId: number, onHand: number): Promise<void> {
  await db.run(sql`UPDATE inventory SET on_hand = ${onHand}, reserved = 0
    WHERE variant_id = ${variantId}`);
}

/** A variant's stock row. */
export async function stockOf(
  db: Db,
  variantId: number,
): Promise<{ onHand: number; reserved: number; available: number }> {
  const [row] = await db.all<{ onHand: number; reserved: number; available: number }>(sql`
    SELECT on_hand AS onHand, reserved, on_hand - reserved AS available FROM inventory
    WHERE variant_id = ${variantId}`);
  return row;
}

/** Counts rows of `table` matching an optional condition. */
export async function countRows(db: Db, table: string, where = sql`1 = 1`): Promise<number> {
  const [row] = await db.all<{ n: number }>(
    sql`SELECT count(*) AS n FROM ${sql.identifier(table)} WHERE ${where}`,
  );
  return row.n;
}
