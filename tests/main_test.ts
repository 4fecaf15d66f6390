import assert from "node:assert/strict";
import { priorityOf } from "../main.ts";
import { readLines } from "./tools/lines.ts";

/** Reads JSON log lines from the child's stderr until `predicate` matches one. */
async function waitForLog(
  lines: AsyncIterator<string>,
  predicate: (entry: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  while (true) {
    const { value, done } = await lines.next();
    if (done) throw new Error("the shop exited before logging what we waited for");
    try {
      const entry = JSON.parse(value);
      if (predicate(entry)) return entry;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
}

Deno.test("[main] a fresh shop seeds itself, serves its pages, and exits cleanly on SIGTERM", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shop-main-" });
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "-A", new URL("../main.ts", import.meta.url).pathname],
    env: { DATA_DIR: dataDir, PORT: "0", HOSTNAME: "127.0.0.1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = readLines(child.stderr);
  try {
    const listening = await waitForLog(lines, (entry) => entry.msg === "listening");
    const base = String(listening.url).replace("localhost", "127.0.0.1");
    const products = await (await fetch(`${base}/api/products?limit=5`)).json();
    assert.equal(products.items.length, 5);
    console.log(
      `start-to-first-response on a fresh data dir: ${Math.round(performance.now() - started)} ms`,
    );
    for (
      const path of ["/", "/c/outdoor-tents", `/p/${products.items[0].slug}`, "/healthz", "/readyz"]
    ) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 200, path);
      await response.body?.cancel();
    }
    child.kill("SIGTERM");
    await waitForLog(lines, (entry) => entry.msg === "stopped");
    const status = await child.status;
    assert.equal(status.code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    for await (const _ of lines) { /* drain */ }
    await child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("[main] catalog reads outrank personal routes and writes under load; probes are never shed", () => {
  const priority = (method: string, path: string) =>
    priorityOf(new Request(`http://shop.test${path}`, { method }));
  assert.equal(priority("GET", "/healthz"), "critical");
  assert.equal(priority("GET", "/metrics"), "critical");
  assert.equal(priority("GET", "/"), "high");
  assert.equal(priority("GET", "/p/blue-mug?variant=2"), "high");
  assert.equal(priority("GET", "/api/products?limit=24"), "high");
  assert.equal(priority("GET", "/static/app.css"), "high");
  assert.equal(priority("POST", "/api/auth/login"), "low");
  assert.equal(priority("GET", "/account/login"), "low");
  assert.equal(priority("GET", "/api/auth/me"), "low");
  assert.equal(priority("PUT", "/api/admin/products/1/price"), "low");
});

const METRICS_TOKEN = "main-test-metrics-token-0123";

Deno.test("[main] the shop closes a silent connection after HEADER_TIMEOUT_MS and reports it in /metrics", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shop-main-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "-A", new URL("../main.ts", import.meta.url).pathname],
    env: {
      DATA_DIR: dataDir,
      PORT: "0",
      HOSTNAME: "127.0.0.1",
      SEED_IF_EMPTY: "false",
      HEADER_TIMEOUT_MS: "500",
      IDLE_TIMEOUT_MS: "800",
      METRICS_TOKEN: METRICS_TOKEN,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = readLines(child.stderr);
  let silent: Deno.Conn | undefined;
  try {
    const listening = await waitForLog(lines, (entry) => entry.msg === "listening");
    assert.ok(Number(listening.maxConnections) > 0, "the connection cap is in force");
    const port = Number(new URL(String(listening.url)).port);
    const started = performance.now();
    silent = await Deno.connect({ hostname: "127.0.0.1", port });
    const closed = await Promise.race([
      silent.read(new Uint8Array(16)).then(() => true, () => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 8000)),
    ]);
    assert.ok(closed, "a connection that sends nothing is closed");
    assert.ok(performance.now() - started >= 500);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
    })).text();
    assert.match(metrics, /^shop_connections_closed_header_timeout_total [1-9]/m);
    assert.match(metrics, /^shop_requests_in_flight \d+$/m);
    assert.match(metrics, /^shop_process_resident_memory_bytes \d+$/m);
    child.kill("SIGTERM");
    await waitForLog(lines, (entry) => entry.msg === "stopped");
    assert.equal((await child.status).code, 0);
  } finally {
    silent?.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    for await (const _ of lines) { /* drain */ }
    await child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
});
