import assert from "node:assert/strict";
import { Hono } from "hono";
import { withDeadline } from "../../edge/http/middleware.ts";
import { createLogger } from "../../edge/platform/log.ts";
import { handleError, timeoutResponse } from "../../routes/errors.ts";

/** The app's error mapping and request deadline around two routes, logging into `lines`. */
function shopLike() {
  const lines: string[] = [];
  const logger = createLogger("info", { write: (line) => lines.push(line) });
  const app = new Hono();
  app.get("/boom/*", () => {
    throw new Error("kaboom");
  });
  app.get("/slow/*", async (c) => {
    await new Promise((resolve) => setTimeout(resolve, 40));
    return c.text("late but fine");
  });
  app.onError((error, c) => handleError(error, c, logger));
  const handler = withDeadline((request: Request) => app.fetch(request), {
    timeoutMs: 5000,
    slowMs: 10,
    logger,
    onTimeout: timeoutResponse,
  });
  return {
    lines,
    request: (path: string, id: string) =>
      handler(new Request(`http://shop.test${path}`, { headers: { "x-request-id": id } }), {}),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

Deno.test("[logs] a client's X-Request-Id reaches log lines and headers only as a plain token", async (t) => {
  const hostile = {
    "a forged JSON line": 'x {"level":"error","msg":"forged"}',
    "a tab": "abc\tdef",
    "Latin-1 bytes": "caf\u00e9",
    "quotes and a backslash": 'a"b\\c',
    "a megabyte-ish id": "a".repeat(100_000),
    "an encoded newline": "abc%0Adef",
  };
  for (const [name, id] of Object.entries(hostile)) {
    await t.step(name, async () => {
      const { lines, request } = shopLike();
      const response = await request("/boom/x", id);
      await response.body?.cancel();
      assert.equal(response.status, 500);
      const answered = response.headers.get("x-request-id")!;
      assert.match(answered, UUID, "replaced by a fresh id");
      const entries = lines.map((line) => JSON.parse(line));
      assert.equal(
        lines.join("").split("\n").filter(Boolean).length,
        lines.length,
        "one line each",
      );
      for (const entry of entries) {
        assert.notEqual(entry.msg, "forged");
        if (entry.requestId !== undefined) assert.equal(entry.requestId, answered);
      }
    });
  }
  await t.step("a plain token is kept, so a trace can follow it", async () => {
    const { lines, request } = shopLike();
    const response = await request("/boom/x", "edge-7.abc:1");
    await response.body?.cancel();
    assert.equal(response.headers.get("x-request-id"), "edge-7.abc:1");
    assert.ok(lines.some((line) => JSON.parse(line).requestId === "edge-7.abc:1"));
  });
});

Deno.test("[logs] request paths in log lines are bounded", async () => {
  const { lines, request } = shopLike();
  for (const path of [`/boom/${"p".repeat(5000)}`, `/slow/${"q".repeat(5000)}`]) {
    const response = await request(path, "ok");
    await response.body?.cancel();
  }
  const paths = lines.map((line) => JSON.parse(line).path as string);
  // (On a busy machine the failure may also be logged as slow: a third line, also bounded.)
  assert.ok(paths.some((path) => path.startsWith("/boom/")), "the failure is logged");
  assert.ok(paths.some((path) => path.startsWith("/slow/")), "the slow request is logged");
  for (const path of paths) assert.ok(path.length <= 201, `${path.length} characters`);
});
