import assert from "node:assert/strict";
import { timeoutResponse } from "../../routes/errors.ts";

Deno.test("[errors] a timed-out request gets JSON under /api and a page elsewhere, never cached", async (t) => {
  await t.step("API", async () => {
    const response = timeoutResponse(new Request("http://shop.test/api/products"));
    assert.equal(response.status, 504);
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.deepEqual(await response.json(), {
      error: { code: "timeout", message: "The request took too long" },
    });
  });
  await t.step("page", async () => {
    const response = timeoutResponse(new Request("http://shop.test/c/outdoor-tents"));
    assert.equal(response.status, 504);
    assert.match(response.headers.get("content-type") ?? "", /text\/html/);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.match(await response.text(), /took too long/);
  });
});
