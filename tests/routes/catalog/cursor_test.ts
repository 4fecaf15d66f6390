import assert from "node:assert/strict";
import { base64url } from "jose";
import { PRODUCT_SORTS } from "../../../db/catalog.ts";
import { openTestServices } from "../../fixtures.ts";

const ORIGIN = "http://localhost";
const NUMERIC_SORTS = PRODUCT_SORTS.filter((sort) => sort !== "name");

/** Cursors that decode to JSON numbers the database cannot take. */
const FORGED = {
  "an infinite sort value": "[1e999,1]",
  "a negative infinite sort value": "[-1e999,1]",
  "an infinite id": "[1,1e999]",
  "an id beyond 2^53": "[1,9007199254740993]",
  "a fractional id": "[1,1.5]",
};

Deno.test("[catalog] a forged cursor is a 400 on every listing and every numeric sort, never a 500", async (t) => {
  const shop = await openTestServices({ productCount: 40 });
  try {
    const categories = await (await shop.app.request(`${ORIGIN}/api/categories`)).json();
    const category = categories.items[0].slug as string;
    const listings = {
      "/api/products": "/api/products?",
      "/c/*": `/c/${category}?`,
      "/search": "/search?q=shirt&",
    };
    for (const [route, prefix] of Object.entries(listings)) {
      await t.step(route, async () => {
        for (const sort of NUMERIC_SORTS) {
          for (const [name, json] of Object.entries(FORGED)) {
            const cursor = base64url.encode(json);
            const response = await shop.app.request(
              `${ORIGIN}${prefix}sort=${sort}&cursor=${cursor}`,
            );
            const body = await response.text();
            assert.equal(response.status, 400, `${route} sort=${sort} with ${name}`);
            assert.doesNotMatch(body, /\bat .*\.ts:\d+/, "no stack trace");
            if (route.startsWith("/api/")) assert.equal(JSON.parse(body).error.field, "cursor");
          }
        }
      });
    }
  } finally {
    await shop.close();
  }
});
