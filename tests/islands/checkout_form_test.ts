import assert from "node:assert/strict";
import { checkoutBody, fieldForPath, fieldMessage } from "../../islands/checkout_form.ts";

Deno.test("[checkout] checkoutBody() maps the form's fields onto the API's body", () => {
  const body = checkoutBody({
    email: "",
    name: "Ada",
    line1: "1 Row",
    city: "London",
    postal_code: "N1 9GU",
    country: "GB",
    shipping_option: "express",
    payment_method: "",
    idempotency_key: "not part of the body",
  });
  assert.deepEqual(body, {
    email: undefined,
    shippingAddress: {
      name: "Ada",
      line1: "1 Row",
      line2: "",
      city: "London",
      region: "",
      postalCode: "N1 9GU",
      country: "GB",
      phone: "",
    },
    shippingOption: "express",
    paymentMethod: undefined,
  });
});

Deno.test("[checkout] fieldMessage() names the field as the form labels it", async (t) => {
  await t.step("an API message starting with the path", () => {
    assert.equal(
      fieldMessage("shippingAddress.postalCode", "shippingAddress.postalCode must be short"),
      "Postal code must be short.",
    );
  });
  await t.step("a schema message without it", () => {
    assert.equal(
      fieldMessage("email", "must be an email address"),
      "Email must be an email address.",
    );
  });
  await t.step("a path the form does not have", () => {
    assert.equal(fieldMessage("body", "body must be a JSON object"), "body must be a JSON object.");
  });
  await t.step("fieldForPath() finds the form field", () => {
    assert.equal(fieldForPath("shippingAddress.line1")?.name, "line1");
    assert.equal(fieldForPath("cart"), undefined);
  });
});
