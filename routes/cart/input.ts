/** What a cart change may say, shared by the JSON API and the cart page's forms. */
import { z } from "zod";
import type { CartLimits } from "../../db/carts.ts";
import { parseWith } from "../validation.ts";

const VARIANT_ID = /^[1-9]\d{0,9}$/;

/** The schemas of cart changes under `limits`, built once. */
export function cartInputSchemas(limits: CartLimits) {
  const quantity = z.number({ error: "must be a whole number" }).int({
    error: "must be a whole number",
  }).min(1, { error: `must be from 1 to ${limits.maxQuantity}` }).max(limits.maxQuantity, {
    error: `must be from 1 to ${limits.maxQuantity}`,
  });
  const variantId = z.number({ error: "must be a variant id" }).int({
    error: "must be a variant id",
  }).positive({ error: "must be a variant id" }).max(2 ** 31, { error: "must be a variant id" });
  return {
    add: z.strictObject({ variantId, quantity: quantity.default(1) }),
    update: z.strictObject({ quantity }),
    variantParam: z.object({
      variantId: z.string().regex(VARIANT_ID, { error: "must be a variant id" }).transform(Number),
    }),
  };
}

export type CartInputSchemas = ReturnType<typeof cartInputSchemas>;

/**
 * Reads a form field as a number for the schemas above: a whole number ("3", "-1"); anything
 * else (empty, "2.5", "1e3") becomes NaN, so the schema names the field either way.
 */
export function formNumber(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^-?\d{1,10}$/.test(value.trim())) return Number.NaN;
  return Number(value.trim());
}

/** Validates a path's `:variantId`. */
export function parseVariantParam(schemas: CartInputSchemas, raw: string): number {
  return parseWith(schemas.variantParam, { variantId: raw }).variantId;
}
