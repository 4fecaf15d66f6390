import assert from "node:assert/strict";
import { Hono } from "hono";
import { serveStaticFiles } from "../../../edge/http/static.ts";
import { createLogger } from "../../../edge/platform/log.ts";
import { openTestServices } from "../../fixtures.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

function recordingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger("debug", { write: (line) => lines.push(line) }) };
}

/** Runs `fn` with console output captured instead of printed. */
async function capturingConsole(fn: () => Promise<void>): Promise<string[]> {
  const printed: string[] = [];
  const saved = { warn: console.warn, error: console.error, log: console.log };
  const capture = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
  Object.assign(console, { warn: capture, error: capture, log: capture });
  try {
    await fn();
  } finally {
    Object.assign(console, saved);
  }
  return printed;
}

Deno.test("[static] request paths cannot shape a log line or reveal where the shop lives", async () => {
  const { lines, logger } = recordingLogger();
  const shop = await openTestServices({ productCount: 0, logger });
  try {
    const paths = [
      "/static/app.css/x",
      '/static/app.css/%0A{"level":"error","msg":"forged"}',
      "/static/app.css%00",
      `/static/app.css/${"x".repeat(300)}`,
      `/static/${"deep/".repeat(1000)}x.css`,
    ];
    const printed = await capturingConsole(async () => {
      for (const path of paths) {
        const response = await shop.app.request(`http://localhost${path}`);
        await response.body?.cancel();
        assert.equal(response.status, 404, path);
      }
    });
    assert.deepEqual(printed, [], "nothing bypasses the JSON logger");
    for (const line of lines.join("").split("\n").filter(Boolean)) {
      const entry = JSON.parse(line);
      assert.notEqual(entry.msg, "forged");
      assert.ok(!line.includes(ROOT), `no absolute path in ${line}`);
    }
  } finally {
    await shop.close();
  }
});

Deno.test("[static] an unreadable file is one JSON warning, named relative to the static root", async () => {
  const root = await Deno.makeTempDir({ prefix: "shop-static-" });
  try {
    await Deno.symlink(`${root}/loop.css`, `${root}/loop.css`); // ELOOP on open
    const { lines, logger } = recordingLogger();
    const app = new Hono();
    app.use(
      "/static/*",
      serveStaticFiles({
        root,
        logger,
        rewriteRequestPath: (path) => path.replace(/^\/static/, ""),
      }),
    );
    const response = await app.request("http://localhost/static/loop.css");
    assert.equal(response.status, 404);
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]);
    assert.equal(entry.msg, "static file unreadable");
    assert.equal(entry.path, "/loop.css");
    assert.ok(!lines[0].includes(root), "the absolute path stays out of the log");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
