/**
 * A tiny stand-in for the shop, for the load tool's own tests and for measuring the
 * generator's ceiling: fixed pages, discovery endpoints, and `/search` answering 500
 * so failure counting can be checked. Run directly to serve on a port:
 * `deno run --allow-net tests/load/stub_server.ts 8123 [maxLatencyMs]`.
 */

let inFlight = 0;

const PAGE = `<!doctype html><title>stub</title>${"<p>lorem ipsum</p>".repeat(50)}`;

async function handler(request: Request, latencyMs: number): Promise<Response> {
  // Optional jitter, growing with concurrency, so reports of demo runs have shape.
  if (latencyMs > 0) {
    inFlight++;
    await new Promise((r) => setTimeout(r, Math.random() * latencyMs * (1 + inFlight / 20)));
    inFlight--;
  }
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === "/api/categories") return Response.json({ items: [{ slug: "x", name: "X" }] });
  if (path === "/api/products") {
    return Response.json({ items: [{ slug: "x", name: "Blue mug" }], nextCursor: null });
  }
  if (path === "/search") return new Response("boom", { status: 500 });
  if (path === "/" || path.startsWith("/c/") || path.startsWith("/p/")) {
    return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
  }
  return new Response("not found", { status: 404 });
}

/** Starts the stub on `port` (0 picks a free one); returns its base URL and a closer. */
export function startStub(
  port = 0,
  options: { latencyMs?: number } = {},
): { url: string; close: () => Promise<void> } {
  const latencyMs = options.latencyMs ?? 0;
  const server = Deno.serve(
    { port, hostname: "127.0.0.1", onListen() {} },
    (request) => handler(request, latencyMs),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

if (import.meta.main) {
  const stub = startStub(Number(Deno.args[0] ?? 8123), { latencyMs: Number(Deno.args[1] ?? 0) });
  console.log(`stub listening on ${stub.url}`);
}
