import assert from "node:assert/strict";
import { cartCountOf, readCookie } from "../../islands/cookies.ts";

Deno.test("[cookies] reads one readable cookie by name, decoded", () => {
  const jar = "theme=dark; account_name=Ada%20L.; cart_count=3";
  assert.equal(readCookie(jar, "account_name"), "Ada L.");
  assert.equal(readCookie(jar, "cart_count"), "3");
  assert.equal(readCookie(jar, "name"), undefined, "no suffix matches");
  assert.equal(readCookie("account_name=%E0%A4%A", "account_name"), undefined, "malformed");
  assert.equal(readCookie("", "cart_count"), undefined);
});

Deno.test("[cookies] a cart count is a whole number from 0 to 999, anything else is 0", () => {
  assert.equal(cartCountOf("12"), 12);
  for (const value of [undefined, "", "-1", "1.5", "1000", "many"]) {
    assert.equal(cartCountOf(value), 0);
  }
});
