import assert from "node:assert/strict";
import { type DelayProxy, startDelayProxy } from "./delay_proxy.ts";

/** A TCP echo server on a free port. */
function startEcho(): { port: number; stop(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.TcpConn>();
  const serving = (async () => {
    const tasks: Promise<unknown>[] = [];
    for await (const conn of listener) {
      conns.add(conn);
      tasks.push(
        conn.readable.pipeTo(conn.writable).catch(() => {}).finally(() => conns.delete(conn)),
      );
    }
    await Promise.allSettled(tasks);
  })();
  return {
    port: listener.addr.port,
    async stop() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // closed by the peer
        }
      }
      await serving;
    },
  };
}

/** Sends `payload` and reads until as many bytes came back; returns them and the elapsed ms. */
async function echo(
  conn: Deno.TcpConn,
  payload: Uint8Array,
): Promise<{ bytes: Uint8Array; ms: number }> {
  const started = performance.now();
  const received = new Uint8Array(payload.length);
  let offset = 0;
  const reading = (async () => {
    while (offset < payload.length) {
      const n = await conn.read(received.subarray(offset));
      if (n === null) throw new Error(`Connection closed after ${offset} bytes`);
      offset += n;
    }
  })();
  let written = 0;
  while (written < payload.length) written += await conn.write(payload.subarray(written));
  await reading;
  return { bytes: received, ms: performance.now() - started };
}

async function withLink(
  rttMs: number,
  fn: (link: DelayProxy) => Promise<void>,
  jitterMs = 0,
): Promise<void> {
  const server = startEcho();
  const link = await startDelayProxy({ targetPort: server.port, rttMs, jitterMs });
  try {
    await fn(link);
  } finally {
    await link.stop();
    await server.stop();
  }
}

Deno.test("[delay proxy] a round trip over a kept-alive connection costs the RTT, a new one costs two", async () => {
  await withLink(60, async (link) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: link.port });
    try {
      const first = await echo(conn, new Uint8Array([1]));
      const second = await echo(conn, new Uint8Array([2]));
      assert.ok(first.ms >= 115, `first exchange (handshake + RTT) took ${first.ms.toFixed(1)} ms`);
      assert.ok(second.ms >= 58, `kept-alive exchange took ${second.ms.toFixed(1)} ms`);
      assert.ok(second.ms < first.ms, "the handshake is paid once per connection");
      assert.equal(link.stats().connections, 1);
    } finally {
      conn.close();
    }
  });
});

Deno.test("[delay proxy] delivers every byte in order under jitter", async () => {
  await withLink(20, async (link) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: link.port });
    try {
      const payload = new Uint8Array(1 << 20).map((_, i) => (i * 7919) % 251);
      const { bytes } = await echo(conn, payload);
      assert.deepEqual(bytes, payload);
      assert.equal(link.stats().bytesToTarget, payload.length);
      assert.equal(link.stats().bytesFromTarget, payload.length);
    } finally {
      conn.close();
    }
  }, 20);
});

Deno.test("[delay proxy] a blackholed link holds bytes until it heals", async () => {
  await withLink(10, async (link) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: link.port });
    try {
      await echo(conn, new Uint8Array([1]));
      link.cut("blackhole");
      assert.equal(link.state, "blackhole");
      const pending = echo(conn, new Uint8Array([2, 3]));
      const outcome = await Promise.race([
        pending.then(() => "answered"),
        new Promise((resolve) => setTimeout(() => resolve("held"), 300)),
      ]);
      assert.equal(outcome, "held");
      link.heal();
      assert.deepEqual((await pending).bytes, new Uint8Array([2, 3]));
    } finally {
      conn.close();
    }
  });
});

Deno.test("[delay proxy] a refused link resets connections at once and recovers on heal", async () => {
  await withLink(10, async (link) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: link.port });
    await echo(conn, new Uint8Array([1]));
    link.cut("refuse");
    const started = performance.now();
    await assert.rejects(echo(conn, new Uint8Array([2])));
    conn.close();
    const fresh = await Deno.connect({ hostname: "127.0.0.1", port: link.port });
    await assert.rejects(echo(fresh, new Uint8Array([3])));
    fresh.close();
    assert.ok(performance.now() - started < 1000, "refusals are fast");
    link.heal();
    const healed = await Deno.connect({ hostname: "127.0.0.1", port: link.port });
    try {
      assert.deepEqual((await echo(healed, new Uint8Array([4]))).bytes, new Uint8Array([4]));
    } finally {
      healed.close();
    }
  });
});
