import assert from "node:assert/strict";
import { LOW_STOCK_THRESHOLD } from "../../db/orders.ts";
import { stockLabel } from "../../islands/format.ts";

Deno.test("[orders] the low-stock mark is where the product page starts naming the count", () => {
  assert.match(stockLabel(LOW_STOCK_THRESHOLD), /^Only \d+ left$/);
  assert.equal(stockLabel(LOW_STOCK_THRESHOLD + 1), "In stock");
});
