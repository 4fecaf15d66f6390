import assert from "node:assert/strict";
import { openLibc } from "../../../edge/platform/libc.ts";
import { createLogger } from "../../../edge/platform/log.ts";
import { startMemoryReleaser } from "../../../edge/platform/memory.ts";

const MIB = 1024 * 1024;

/** Opens `count` keep-alive connections with one request each, then closes them all. */
async function connectionsComeAndGo(port: number, count: number): Promise<void> {
  const request = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n");
  const buffer = new Uint8Array(1024);
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < count; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, count - i) }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(conn);
      await conn.write(request);
      await conn.read(buffer);
    }));
  }
  for (const conn of conns) conn.close();
  await new Promise((resolve) => setTimeout(resolve, 300));
}

Deno.test("[memory] memory freed after thousands of connections closed goes back to the OS", async () => {
  const libc = openLibc()!;
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response("hello"),
  );
  const logged: string[] = [];
  const releaser = startMemoryReleaser({
    libc,
    logger: createLogger("info", { write: (line) => logged.push(line) }),
    everyMs: 3_600_000,
    minFreeBytes: 8 * MIB,
    minGrowthBytes: 1024 * MIB,
    minSlackBytes: 1024 * MIB,
  });
  try {
    await connectionsComeAndGo(server.addr.port, 4000);
    const freeBefore = libc.freeHeapBytes();
    const rssBefore = Deno.memoryUsage().rss;
    assert.ok(freeBefore > 16 * MIB, `only ${Math.round(freeBefore / MIB)} MiB free in the heap`);
    assert.equal(releaser.check(), true);
    const rssAfter = Deno.memoryUsage().rss;
    assert.ok(
      rssBefore - rssAfter > 16 * MIB,
      `RSS ${Math.round(rssBefore / MIB)} → ${Math.round(rssAfter / MIB)} MiB`,
    );
    assert.ok(libc.freeHeapBytes() < freeBefore);
    assert.equal(releaser.stats().trims, 1);
    assert.match(logged[0], /released memory/);
    assert.equal(releaser.check(), false, "nothing left worth trimming");
  } finally {
    releaser.stop();
    await server.shutdown();
  }
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
