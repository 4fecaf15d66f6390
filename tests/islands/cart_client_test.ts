import assert from "node:assert/strict";
import type { Cart } from "../../db/carts.ts";
import { itemCountLabel, toCartView } from "../../islands/cart_client.ts";

Deno.test("[cart] toCartView() keeps what pages show and leaves the cart id out", () => {
  const line = {
    variantId: 7,
    productId: 3,
    slug: "tent-3",
    productName: "Tent",
    variantName: "Navy / M",
    sku: "T-7",
    imageUrl: "/img/v1/tent/3-0.svg",
    priceMinor: 1000,
    currency: "USD",
    quantity: 2,
    available: 5,
    active: true,
    stocked: true,
    lineTotalMinor: 2000,
  };
  const cart: Cart = {
    id: "a:secret",
    lines: [line],
    itemCount: 2,
    subtotalMinor: 2000,
    currency: "USD",
    warnings: [{ variantId: 7, code: "low_stock", message: "Only 5 left", available: 5 }],
  };
  const view = toCartView(cart);
  assert.equal("id" in view, false);
  assert.deepEqual(Object.keys(view.lines[0]).sort(), [
    "available",
    "currency",
    "imageUrl",
    "lineTotalMinor",
    "priceMinor",
    "productName",
    "quantity",
    "slug",
    "variantId",
    "variantName",
  ]);
  assert.deepEqual(view.warnings, [{ variantId: 7, code: "low_stock", message: "Only 5 left" }]);
});

Deno.test("[cart] itemCountLabel() counts items in words", () => {
  assert.equal(itemCountLabel(1), "1 item");
  assert.equal(itemCountLabel(0), "0 items");
  assert.equal(itemCountLabel(12), "12 items");
});
