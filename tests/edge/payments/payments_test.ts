import assert from "node:assert/strict";
import {
  createPaymentProvider,
  signWebhook,
  WebhookRejectedError,
} from "../../../edge/payments/payments.ts";

const body = JSON.stringify({
  id: "evt_1",
  type: "payment.succeeded",
  data: { orderId: "o1", amountMinor: 1299, currency: "USD" },
});
const at = 1_800_000_000;
const provider = await createPaymentProvider({
  webhookSecret: "current-secret-1234",
  toleranceSeconds: 300,
  now: () => at * 1000,
});

function headers(signature: string) {
  return new Headers({ "payment-signature": signature });
}

Deno.test("[payments] pay on delivery is the default method", () => {
  assert.deepEqual(provider.methods.map((m) => m.id), ["pay_on_delivery"]);
});

Deno.test("[payments] a signed event is parsed; the signature covers timestamp and body", async () => {
  const signature = await signWebhook("current-secret-1234", body, at);
  assert.match(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.deepEqual(await provider.verifyWebhook(body, headers(signature)), {
    id: "evt_1",
    type: "payment.succeeded",
    orderId: "o1",
    amountMinor: 1299,
    currency: "USD",
  });
});

Deno.test("[payments] a rotated secret verifies while either signature matches", async () => {
  const old = (await signWebhook("previous-secret-99", body, at)).split(",")[1];
  const current = await signWebhook("current-secret-1234", body, at);
  await provider.verifyWebhook(body, headers(`${current},${old}`));
  await assert.rejects(
    () => provider.verifyWebhook(body, headers(`t=${at},${old}`)),
    WebhookRejectedError,
  );
});

Deno.test("[payments] the tolerance applies both ways and only to genuine signatures", async () => {
  for (const skew of [-301, 301]) {
    const signature = await signWebhook("current-secret-1234", body, at + skew);
    await assert.rejects(
      () => provider.verifyWebhook(body, headers(signature)),
      (error: WebhookRejectedError) => error.code === "stale_timestamp",
    );
  }
  const forgedAndStale = await signWebhook("wrong-secret-0000", body, at - 10_000);
  await assert.rejects(
    () => provider.verifyWebhook(body, headers(forgedAndStale)),
    (error: WebhookRejectedError) => error.code === "invalid_signature",
  );
});

Deno.test("[payments] a well-signed event of the wrong shape is refused naming the field", async () => {
  const bad = JSON.stringify({ id: "e", type: "payment.succeeded", data: { orderId: "o" } });
  await assert.rejects(
    async () =>
      provider.verifyWebhook(bad, headers(await signWebhook("current-secret-1234", bad, at))),
    (error: WebhookRejectedError) =>
      error.code === "invalid_event" && /amountMinor/.test(error.message),
  );
});
