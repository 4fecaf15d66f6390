import assert from "node:assert/strict";
import { Hono } from "hono";
import { requestIdOf, securityHeaders, withDeadline } from "../../../edge/http/middleware.ts";
import { createLogger } from "../../../edge/platform/log.ts";

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("info", { write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function appWith(options: { timeoutMs: number; slowMs?: number }) {
  const { logger, lines } = recordingLogger();
  const app = new Hono();
  app.use(securityHeaders());
  app.get("/fast", (c) => c.text("ok"));
  app.get("/slow", async (c) => {
    await new Promise((resolve) => setTimeout(resolve, 150));
    return c.text("eventually");
  });
  app.get("/hangs", () => new Promise<Response>(() => {}));
  app.get("/late", async (c) => {
    await new Promise((resolve) => setTimeout(resolve, options.timeoutMs + 300));
    lateFinished = true;
    return c.text("too late");
  });
  app.get("/id", (c) => c.text(requestIdOf(c)));
  let lateFinished = false;
  const handler = withDeadline((request: Request) => app.fetch(request), {
    ...options,
    logger,
    onTimeout: () => new Response("timed out", { status: 504 }),
  });
  return {
    request: (path: string, init?: RequestInit) =>
      handler(new Request(`http://shop.test${path}`, init), undefined),
    lines,
    lateFinished: () => lateFinished,
  };
}

Deno.test("[http] a request past its deadline answers 504 at once", async () => {
  const { request } = appWith({ timeoutMs: 80 });
  const started = performance.now();
  const response = await request("/hangs");
  const took = performance.now() - started;
  assert.equal(response.status, 504);
  assert.equal(await response.text(), "timed out");
  assert.ok(took >= 80 && took < 80 + 300, `answered after ${Math.round(took)} ms`);
  assert.equal((await request("/fast")).status, 200);
});

Deno.test("[http] a handler that finishes after its 504 cannot touch the answer", async () => {
  const { request, lateFinished } = appWith({ timeoutMs: 80 });
  const response = await request("/late");
  assert.equal(response.status, 504);
  assert.equal(await response.text(), "timed out");
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.ok(lateFinished(), "the handler ran to its end without disturbing anything");
});

Deno.test("[http] slow requests are logged at warn, fast ones not at all at info", async () => {
  const { request, lines } = appWith({ timeoutMs: 5000, slowMs: 100 });
  await (await request("/fast")).text();
  assert.equal(lines.length, 0);
  await (await request("/slow")).text();
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, "warn");
  assert.equal(lines[0].path, "/slow");
  assert.ok(Number(lines[0].ms) >= 100);
});

Deno.test("[http] request ids reuse a sane caller id and replace anything else", async (t) => {
  const { request } = appWith({ timeoutMs: 1000 });
  await t.step("sane id kept", async () => {
    const response = await request("/id", { headers: { "x-request-id": "edge-abc.123" } });
    assert.equal(await response.text(), "edge-abc.123");
  });
  await t.step("unsafe id replaced by a UUID", async () => {
    const response = await request("/id", { headers: { "x-request-id": "<script>" } });
    assert.match(await response.text(), /^[0-9a-f-]{36}$/);
  });
});

Deno.test("[http] every response carries the security headers exactly once", async () => {
  const { request } = appWith({ timeoutMs: 1000 });
  const app2 = new Hono();
  app2.use(securityHeaders());
  app2.get("/", () => new Response("x", { headers: { "x-content-type-options": "nosniff" } }));
  const plain = await request("/fast");
  assert.equal(plain.headers.get("x-content-type-options"), "nosniff");
  assert.match(plain.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  assert.match(plain.headers.get("strict-transport-security") ?? "", /max-age=/);
  const prebuilt = await app2.request("/");
  assert.equal(
    prebuilt.headers.get("content-security-policy"),
    null,
    "left as the handler built it",
  );
});
