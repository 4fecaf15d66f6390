import assert from "node:assert/strict";
import { openTestServices } from "../fixtures.ts";

const TOKEN = "scraper-0123456789abcdef";

Deno.test("[metrics] /metrics does not exist without METRICS_TOKEN", async () => {
  const shop = await openTestServices({ productCount: 0 });
  try {
    const response = await shop.app.request("http://localhost/metrics");
    assert.equal(response.status, 404);
    assert.doesNotMatch(await response.text(), /cache_hits|origin_fetches/);
  } finally {
    await shop.close();
  }
});

Deno.test("[metrics] /metrics answers only the bearer of METRICS_TOKEN", async (t) => {
  const shop = await openTestServices({ productCount: 0, env: { METRICS_TOKEN: TOKEN } });
  const scrape = (authorization?: string) =>
    shop.app.request("http://localhost/metrics", {
      headers: authorization ? { authorization } : {},
    });
  try {
    for (
      const [name, header] of [
        ["no credentials", undefined],
        ["a wrong token", "Bearer scraper-0123456789abcdeX"],
        ["a prefix of the token", `Bearer ${TOKEN.slice(0, -1)}`],
        ["another scheme", `Basic ${btoa(`x:${TOKEN}`)}`],
      ] as const
    ) {
      await t.step(name, async () => {
        const response = await scrape(header);
        const body = await response.text();
        if (header?.startsWith("Basic")) {
          assert.equal(
            response.status,
            400,
            "a malformed Authorization (RFC 6750 invalid_request)",
          );
        } else {
          assert.equal(response.status, 401);
          assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
        }
        assert.doesNotMatch(body, /origin_fetches/);
      });
    }
    await t.step("the right token", async () => {
      const response = await scrape(`Bearer ${TOKEN}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.match(await response.text(), /origin_fetches/);
    });
  } finally {
    await shop.close();
  }
});
