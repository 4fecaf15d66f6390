/** What a checkout may say, shared by `POST /api/checkout` and the checkout form. */
import { z } from "zod";
import type { ShippingOption } from "../../edge/platform/config.ts";
import type { PaymentMethod } from "../../edge/payments/payments.ts";
import { InvalidParameterError } from "../../edge/platform/errors.ts";

/** Where the shop delivers (ISO 3166-1 alpha-2 → name). */
export const SHIPPING_COUNTRIES: Readonly<Record<string, string>> = {
  US: "United States",
  CA: "Canada",
  GB: "United Kingdom",
  IE: "Ireland",
  DE: "Germany",
  FR: "France",
  NL: "Netherlands",
  BE: "Belgium",
  ES: "Spain",
  IT: "Italy",
  SE: "Sweden",
  AU: "Australia",
};

export const IDEMPOTENCY_HEADER = "Idempotency-Key";

const text = (max: number) =>
  z.string({ error: "is required" }).trim().min(1, { error: "is required" }).max(max, {
    error: `must be at most ${max} characters`,
  });
const optionalText = (max: number) =>
  z.string().trim().max(max, { error: `must be at most ${max} characters` }).optional()
    .transform((value) => value || undefined);

const addressSchema = z.strictObject({
  name: text(100),
  line1: text(200),
  line2: optionalText(200),
  city: text(100),
  region: optionalText(100),
  postalCode: z.string({ error: "is required" }).trim().regex(/^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$/, {
    error: "must be 2 to 10 letters, digits, spaces or dashes",
  }).transform((value) => value.toUpperCase()),
  country: z.string({ error: "is required" }).trim().toUpperCase().refine(
    (code) => Object.hasOwn(SHIPPING_COUNTRIES, code),
    { error: `must be one of ${Object.keys(SHIPPING_COUNTRIES).join(", ")}` },
  ),
  phone: z.string().trim().regex(/^\+?[0-9 ()-]{6,20}$/, { error: "must be a phone number" })
    .optional().or(z.literal("").transform(() => undefined)),
});

/** The checkout body's schema for the configured shipping options and payment methods. */
export function checkoutSchema(options: {
  shippingOptions: readonly ShippingOption[];
  paymentMethods: readonly PaymentMethod[];
}) {
  const shippingIds = options.shippingOptions.map((o) => o.id) as [string, ...string[]];
  const methodIds = options.paymentMethods.map((m) => m.id) as [string, ...string[]];
  return z.strictObject({
    email: z.string().trim().toLowerCase().pipe(z.email({ error: "must be an email address" }))
      .pipe(z.string().max(254, { error: "must be at most 254 characters" })).optional(),
    shippingAddress: addressSchema,
    shippingOption: z.enum(shippingIds, { error: `must be one of ${shippingIds.join(", ")}` }),
    paymentMethod: z.enum(methodIds, { error: `must be one of ${methodIds.join(", ")}` })
      .default(methodIds[0]),
  });
}

export type CheckoutInput = z.output<ReturnType<typeof checkoutSchema>>;

/** Validates the `Idempotency-Key` header: required, 1 to 255 visible ASCII characters. */
export function parseIdempotencyKey(value: string | undefined): string {
  if (value === undefined || value.trim() === "") {
    throw new InvalidParameterError(
      IDEMPOTENCY_HEADER,
      `${IDEMPOTENCY_HEADER} header is required (a unique value per checkout, e.g. a UUID)`,
    );
  }
  if (!/^[\x21-\x7e]{1,255}$/.test(value.trim())) {
    throw new InvalidParameterError(
      IDEMPOTENCY_HEADER,
      `${IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters`,
    );
  }
  return value.trim();
}
