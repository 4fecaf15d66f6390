import assert from "node:assert/strict";
import { createLogger } from "../../../edge/platform/log.ts";
import { startMemoryReleaser } from "../../../edge/platform/memory.ts";

const MIB = 1024 * 1024;

const LIBC_MODULE = new URL("../../../edge/platform/libc.ts", import.meta.url).href;
const LOG_MODULE = new URL("../../../edge/platform/log.ts", import.meta.url).href;
const MEMORY_MODULE = new URL("../../../edge/platform/memory.ts", import.meta.url).href;

/**
 * In a process of its own (RSS is per process, and other test files share this one): a server,
 * 4,000 keep-alive connections with one request each, all closed, then one releaser check.
 */
const CONNECTIONS_COME_AND_GO = `
  import { openLibc } from "${LIBC_MODULE}";
  import { createLogger } from "${LOG_MODULE}";
  import { startMemoryReleaser } from "${MEMORY_MODULE}";
  const libc = openLibc();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => new Response("hello"));
  const logged = [];
  const releaser = startMemoryReleaser({
    libc,
    logger: createLogger("info", { write: (line) => logged.push(line) }),
    everyMs: 3_600_000,
    minFreeBytes: 8 * 1024 * 1024,
    minGrowthBytes: 1024 * 1024 * 1024,
    minSlackBytes: 1024 * 1024 * 1024,
  });
  const request = new TextEncoder().encode("GET / HTTP/1.1\\r\\nHost: shop.test\\r\\n\\r\\n");
  const conns = [];
  for (let i = 0; i < 4000; i += 250) {
    await Promise.all(Array.from({ length: 250 }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      conns.push(conn);
      await conn.write(request);
      await conn.read(new Uint8Array(1024));
    }));
  }
  for (const conn of conns) conn.close();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const freeBefore = libc.freeHeapBytes();
  const rssBefore = Deno.memoryUsage().rss;
  const released = releaser.check();
  const rssAfter = Deno.memoryUsage().rss;
  const again = releaser.check();
  releaser.stop();
  await server.shutdown();
  console.log(JSON.stringify({ freeBefore, rssBefore, released, rssAfter, again, trims: releaser.stats().trims, logged }));
`;

Deno.test("[memory] memory freed after thousands of connections closed goes back to the OS", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", CONNECTIONS_COME_AND_GO],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  const mib = (bytes: number) => Math.round(bytes / MIB);
  assert.ok(result.freeBefore > 16 * MIB, `only ${mib(result.freeBefore)} MiB free in the heap`);
  assert.equal(result.released, true);
  assert.ok(
    result.rssBefore - result.rssAfter > 16 * MIB,
    `RSS ${mib(result.rssBefore)} → ${mib(result.rssAfter)} MiB`,
  );
  assert.equal(result.trims, 1);
  assert.match(result.logged[0], /released memory/);
  assert.equal(result.again, false, "nothing left worth trimming");
});

Deno.test("[memory] garbage V8 keeps after a burst of allocation is collected once the heap grew", () => {
  const releaser = startMemoryReleaser({
    logger: createLogger("error", { write: () => {} }),
    everyMs: 3_600_000,
    minGrowthBytes: 32 * MIB,
    minSlackBytes: 1024 * MIB,
    minFreeBytes: 1024 * MIB,
  });
  try {
    let garbage: Array<{ id: number; name: string }> = [];
    for (let i = 0; i < 1_000_000; i++) garbage.push({ id: i, name: `product-${i}` });
    garbage = [];
    const before = Deno.memoryUsage().heapUsed;
    assert.equal(releaser.check(), true, `heap in use ${Math.round(before / MIB)} MiB`);
    const after = Deno.memoryUsage().heapUsed;
    assert.ok(
      before - after > 32 * MIB,
      `${Math.round(before / MIB)} → ${Math.round(after / MIB)} MiB`,
    );
    assert.equal(releaser.stats().collections, 1);
    assert.equal(releaser.check(), false, "no growth since");
  } finally {
    releaser.stop();
  }
});

Deno.test("[memory] when a busy stretch goes quiet, everything collectable is released once", () => {
  let served = 0;
  const releaser = startMemoryReleaser({
    logger: createLogger("error", { write: () => {} }),
    everyMs: 10_000,
    minGrowthBytes: 1024 * MIB,
    minSlackBytes: 1024 * MIB,
    minFreeBytes: 1024 * MIB,
    requestsServed: () => served,
  });
  try {
    assert.equal(releaser.check(), false, "quiet from the start: nothing to give back");
    served += 5000;
    assert.equal(releaser.check(), false, "busy");
    served += 3;
    assert.equal(releaser.check(), true, "quiet after load");
    assert.equal(releaser.stats().collections, 1);
    served += 2;
    assert.equal(releaser.check(), false, "still quiet: once is enough");
  } finally {
    releaser.stop();
  }
});
