import assert from "node:assert/strict";
import { createLogger } from "../../../edge/platform/log.ts";
import { type RunningServer, serveGracefully } from "../../../edge/platform/server.ts";

const quiet = createLogger("error", { write: () => {} });
const encoder = new TextEncoder();

const LIMITS = { headerTimeoutMs: 600, idleTimeoutMs: 900, drainTimeoutMs: 500 };
/** Far above the timeouts, so a busy machine cannot fail the test, far below "never". */
const GENEROUS_MS = 8000;

function overloaded(): Response {
  return new Response("over capacity", {
    status: 503,
    headers: { "retry-after": "1", connection: "close" },
  });
}

function startGuarded(maxConnections = 1000): RunningServer {
  return serveGracefully(() => Promise.resolve(new Response("hello")), {
    port: 0,
    hostname: "127.0.0.1",
    shutdownDeadlineMs: 1000,
    logger: quiet,
    connections: { ...LIMITS, maxConnections, onOverCapacity: overloaded },
  });
}

/**
 * Resolves with how long after `since` the server closed `conn` (EOF or reset), or Infinity
 * when it is still open after `waitMs`.
 */
function closedAfter(conn: Deno.Conn, since: number, waitMs = GENEROUS_MS): Promise<number> {
  const buffer = new Uint8Array(4096);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = (async () => {
    try {
      while (await conn.read(buffer) !== null) { /* responses are read and dropped */ }
    } catch {
      // a reset counts as closed
    }
    return performance.now() - since;
  })();
  const gaveUp = new Promise<number>((resolve) =>
    timer = setTimeout(() => resolve(Infinity), waitMs)
  );
  return Promise.race([closed, gaveUp]).finally(() => clearTimeout(timer));
}

async function connect(server: RunningServer): Promise<Deno.Conn> {
  return await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
}

async function readResponseHead(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(4096);
  const n = await conn.read(buffer);
  return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
}

Deno.test("[server] closes silent, half-sent, trickling and idle keep-alive connections within their timeouts, never an active one", async () => {
  const server = startGuarded();
  const opened: Deno.Conn[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    const start = performance.now();
    const silent = await connect(server);
    const halfSent = await connect(server);
    await halfSent.write(encoder.encode("GET / HTTP/1.1\r\nHost: shop.test\r\n"));
    const trickling = await connect(server);
    await trickling.write(encoder.encode("GET / HTTP/1.1\r\n"));
    timers.push(setInterval(() => {
      trickling.write(encoder.encode("X-Slow: 1\r\n")).catch(() => {});
    }, 100));
    const idle = await connect(server);
    await idle.write(encoder.encode("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n"));
    assert.match(await readResponseHead(idle), /^HTTP\/1.1 200/);
    const answered = performance.now();
    // A keep-alive client that asks again every 300 ms is never idle long enough to be closed.
    const active = await connect(server);
    let activeAnswers = 0;
    const activeClosed = closedAfter(active, start, 2500);
    timers.push(setInterval(() => {
      active.write(encoder.encode("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n")).catch(() => {});
      activeAnswers++;
    }, 300));
    opened.push(silent, halfSent, trickling, idle, active);

    const [silentMs, halfSentMs, tricklingMs, idleMs] = await Promise.all([
      closedAfter(silent, start),
      closedAfter(halfSent, start),
      closedAfter(trickling, start),
      closedAfter(idle, answered),
    ]);
    for (
      const [name, ms] of [["silent", silentMs], ["half-sent", halfSentMs], [
        "trickling",
        tricklingMs,
      ]] as const
    ) {
      assert.ok(
        ms >= LIMITS.headerTimeoutMs,
        `${name} closed after ${Math.round(ms)} ms, before the header timeout`,
      );
      assert.ok(ms < GENEROUS_MS, `${name} still open after ${Math.round(ms)} ms`);
    }
    assert.ok(idleMs >= LIMITS.idleTimeoutMs, `idle closed after ${Math.round(idleMs)} ms`);
    assert.ok(idleMs < GENEROUS_MS, `idle keep-alive still open after ${Math.round(idleMs)} ms`);
    assert.equal(await activeClosed, Infinity, "the active keep-alive connection was closed");
    assert.ok(activeAnswers >= 3);
    const stats = server.guard!.stats();
    assert.ok(stats.closedHeaderTimeout >= 3, JSON.stringify(stats));
    assert.ok(stats.closedIdleTimeout >= 1, JSON.stringify(stats));
  } finally {
    timers.forEach(clearInterval);
    for (const conn of opened) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await server.shutdown("test");
  }
});

Deno.test("[server] above the connection cap, new connections get a fast 503 with Connection: close and surplus idle ones are closed", async () => {
  const server = startGuarded(4);
  const conns: Deno.Conn[] = [];
  try {
    const heads: string[] = [];
    for (let i = 0; i < 8; i++) {
      const conn = await connect(server);
      conns.push(conn);
      await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n"));
      heads.push(await readResponseHead(conn));
    }
    const refused = heads.filter((head) => head.startsWith("HTTP/1.1 503"));
    assert.ok(
      refused.length >= 3,
      `only ${refused.length} of 8 refused: ${heads.map((h) => h.slice(0, 12))}`,
    );
    for (const head of refused) {
      assert.match(head, /connection: close/i);
      assert.match(head, /retry-after: 1/i);
    }
    assert.match(heads[0], /^HTTP\/1.1 200/);
    await server.guard!.sweep();
    const closedMs = await Promise.all(conns.map((conn) => closedAfter(conn, 0, 1000)));
    const open = closedMs.filter((ms) => ms === Infinity).length;
    assert.ok(open <= 4, `${open} connections left open above a cap of 4`);
    assert.ok(server.guard!.stats().refusedOverCapacity >= 3);
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    await server.shutdown("test");
  }
});
