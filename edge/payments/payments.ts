/**
 * Payment behind an interface: the methods a shopper may choose and the provider's signed
 * webhook. The default has one method, pay on delivery, and a generic HMAC-signed webhook that
 * a real provider (or its adapter) can call to report a payment; swapping in a provider means
 * implementing `PaymentProvider`.
 *
 * Webhook signature: header `Payment-Signature: t=<unix seconds>,v1=<hex>` where `v1` is
 * HMAC-SHA256 over `"<t>.<raw body>"` with the shared secret (several `v1` entries are accepted,
 * for secret rotation). A timestamp outside the tolerance is refused, which bounds how long an
 * event id must be remembered to refuse its replay.
 */
import { z } from "zod";
import { AppError } from "../platform/errors.ts";
import { createSigner, type Signer } from "../platform/signing.ts";

/** A way to pay that a shopper can choose at checkout. */
export interface PaymentMethod {
  id: string;
  label: string;
  description: string;
}

/** A verified "payment succeeded" report. */
export interface PaymentSucceeded {
  /** The provider's event id, unique per event (replays reuse it). */
  id: string;
  type: "payment.succeeded";
  orderId: string;
  amountMinor: number;
  currency: string;
}

export interface PaymentProvider {
  readonly methods: readonly PaymentMethod[];
  /** Verifies a webhook delivery and returns its event; throws `WebhookRejectedError`. */
  verifyWebhook(rawBody: string, headers: Headers): Promise<PaymentSucceeded>;
}

/** The header carrying the webhook signature. */
export const SIGNATURE_HEADER = "Payment-Signature";

/** A webhook delivery that must not be trusted; nothing was changed. */
export class WebhookRejectedError extends AppError {
  override name = "WebhookRejectedError";
  constructor(code: "invalid_signature" | "stale_timestamp" | "invalid_event", message: string) {
    super(400, code, message, { field: code === "invalid_event" ? "body" : SIGNATURE_HEADER });
  }
}

/** No webhook secret is configured, so no provider can be trusted. */
export class PaymentsNotConfiguredError extends AppError {
  override name = "PaymentsNotConfiguredError";
  constructor() {
    super(503, "not_configured", "No payment provider is configured");
  }
}

export const PAY_ON_DELIVERY: PaymentMethod = {
  id: "pay_on_delivery",
  label: "Pay on delivery",
  description: "Pay the courier in cash or by card when your order arrives",
};

const eventSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.literal("payment.succeeded"),
  data: z.object({
    orderId: z.string().min(1).max(64),
    amountMinor: z.number().int().min(0).max(1_000_000_000),
    currency: z.string().regex(/^[A-Z]{3}$/),
  }),
});

/**
 * The default provider: pay on delivery, plus the HMAC-signed webhook when `webhookSecret` is
 * set (without it every webhook is refused with 503).
 */
export async function createPaymentProvider(options: {
  webhookSecret?: string;
  toleranceSeconds: number;
  now?: () => number;
}): Promise<PaymentProvider> {
  const now = options.now ?? Date.now;
  const signer = options.webhookSecret
    ? await createSigner(options.webhookSecret, { encoding: "hex" })
    : undefined;
  return {
    methods: [PAY_ON_DELIVERY],
    async verifyWebhook(rawBody, headers) {
      if (!signer) throw new PaymentsNotConfiguredError();
      await verifySignature(signer, rawBody, headers.get(SIGNATURE_HEADER), {
        toleranceSeconds: options.toleranceSeconds,
        nowSeconds: Math.floor(now() / 1000),
      });
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        throw new WebhookRejectedError("invalid_event", "body must be a JSON object");
      }
      const parsed = eventSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new WebhookRejectedError(
          "invalid_event",
          `${issue.path.join(".") || "body"} ${issue.message}`,
        );
      }
      const { id, type, data } = parsed.data;
      return { id, type, ...data };
    },
  };
}

async function verifySignature(
  signer: Signer,
  rawBody: string,
  header: string | null,
  clock: { toleranceSeconds: number; nowSeconds: number },
): Promise<void> {
  const parts = (header ?? "").split(",").map((part) => part.trim().split("="));
  const timestamp = parts.find(([name]) => name === "t")?.[1];
  const signatures = parts.filter(([name]) => name === "v1").map(([, value]) => value ?? "");
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) {
    throw new WebhookRejectedError(
      "invalid_signature",
      `${SIGNATURE_HEADER} must look like "t=<unix seconds>,v1=<hex HMAC-SHA256>"`,
    );
  }
  const signed = `${timestamp}.${rawBody}`;
  const valid = await Promise.all(signatures.slice(0, 4).map((s) => signer.verify(signed, s)));
  if (!valid.includes(true)) {
    throw new WebhookRejectedError("invalid_signature", "The webhook signature does not match");
  }
  // Checked after the signature, so an attacker learns nothing from the clock.
  if (Math.abs(clock.nowSeconds - Number(timestamp)) > clock.toleranceSeconds) {
    throw new WebhookRejectedError(
      "stale_timestamp",
      `The webhook timestamp is more than ${clock.toleranceSeconds} s away from now`,
    );
  }
}

/** Signs a webhook body the way a provider would (tests, the load tool, provider adapters). */
export async function signWebhook(
  secret: string,
  rawBody: string,
  timestampSeconds: number,
): Promise<string> {
  const signer = await createSigner(secret, { encoding: "hex" });
  return `t=${timestampSeconds},v1=${await signer.sign(`${timestampSeconds}.${rawBody}`)}`;
}
