import assert from "node:assert/strict";
import { presetOptions } from "./config.ts";
import { runLoad } from "./coordinator.ts";
import { openTestServices } from "../fixtures.ts";
import { countRows } from "../routes/checkout/shopper.ts";

Deno.test("[load] the buy preset browses, adds to cart and checks out against a real shop", async () => {
  const shop = await openTestServices({ productCount: 60, env: { OUTBOX_WORKER: "false" } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, shop.app.fetch);
  try {
    const result = await runLoad(
      presetOptions("buy-smoke", { url: `http://127.0.0.1:${server.addr.port}`, workers: 0 }),
    );
    const step = (name: string) => result.steps.find((s) => s.name === name);
    assert.ok((step("add_to_cart")?.reqs ?? 0) > 0, "some shoppers added to their cart");
    assert.ok((step("checkout")?.reqs ?? 0) > 0, "some shoppers checked out");
    assert.ok((step("product")?.reqs ?? 0) > 0, "everyone browsed");
    assert.equal(result.failed, 0, JSON.stringify(result.errors));
    const orders = await countRows(shop.services.database.writer, "orders");
    assert.ok(orders > 0 && orders <= step("checkout")!.reqs, `${orders} orders`);
  } finally {
    await server.shutdown();
    await shop.close();
  }
});
