import assert from "node:assert/strict";
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
