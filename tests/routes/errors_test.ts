import assert from "node:assert/strict";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { DatabaseUnavailableError } from "../../db/client.ts";
import { RateLimitedError } from "../../edge/auth/rate_limit.ts";
import { InvalidParameterError, NotFoundError } from "../../edge/platform/errors.ts";
import { createLogger } from "../../edge/platform/log.ts";
import { handleError, timeoutResponse } from "../../routes/errors.ts";

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

function appThrowing(error: unknown): Hono {
  const app = new Hono();
  const logger = createLogger("error", { write: () => {} });
  app.get("*", () => {
    throw error;
  });
  app.onError((thrown, c) => handleError(thrown, c, logger));
  return app;
}

Deno.test("[errors] a domain error answers JSON and pages with the same status, wording and headers", async (t) => {
  const cases: Array<[string, unknown, number, string]> = [
    [
      "rate limit",
      new RateLimitedError({ success: false, limit: 5, remaining: 0, reset: Date.now() + 30_000 }),
      429,
      "rate_limited",
    ],
    ["unavailable database", new DatabaseUnavailableError(3), 503, "unavailable"],
    [
      "wrapped in a cause",
      new Error("driver", { cause: new DatabaseUnavailableError(2) }),
      503,
      "unavailable",
    ],
    [
      "bad parameter",
      new InvalidParameterError("limit", "limit must be at most 100"),
      400,
      "invalid_parameter",
    ],
    ["missing product", new NotFoundError("Product 7 does not exist"), 404, "not_found"],
  ];
  for (const [name, error, status, code] of cases) {
    await t.step(name, async () => {
      const app = appThrowing(error);
      const json = await app.request("/api/x");
      const page = await app.request("/x");
      assert.equal(json.status, status);
      assert.equal(page.status, status);
      const body = await json.json();
      assert.equal(body.error.code, code);
      assert.match(await page.text(), new RegExp(escape(body.error.message)));
      assert.equal(json.headers.get("retry-after"), page.headers.get("retry-after"));
      if (status === 429 || status === 503) assert.ok(Number(json.headers.get("retry-after")) >= 1);
    });
  }
});

Deno.test("[errors] an unexpected error is a 500 with a request id and no internal message", async () => {
  const lines: string[] = [];
  const app = new Hono();
  app.get("*", () => {
    throw new Error("SQLITE_CONSTRAINT secret detail");
  });
  app.onError((thrown, c) =>
    handleError(thrown, c, createLogger("error", { write: (l) => lines.push(l) }))
  );
  const response = await app.request("/api/x");
  assert.equal(response.status, 500);
  const text = await response.text();
  assert.doesNotMatch(text, /SQLITE|secret/);
  assert.ok(response.headers.get("x-request-id"));
  const logged = JSON.parse(lines[0]);
  assert.match(logged.stack, /SQLITE_CONSTRAINT secret detail/);
  assert.equal(logged.requestId, response.headers.get("x-request-id"));
});

Deno.test("[errors] 401 answers name the Bearer scheme", async () => {
  const response = await appThrowing(new HTTPException(401, { message: "Sign in to continue" }))
    .request("/api/x");
  assert.equal(response.status, 401);
  assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\']/g, "\\$&").replace(/'/g, ".{1,6}");
}
