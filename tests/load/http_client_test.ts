import assert from "node:assert/strict";
import { encodeRequest, KeepAliveConnection, parseHead } from "./http_client.ts";

const get = (path: string, extra: Array<[string, string]> = []) =>
  encodeRequest("GET", path, [["Host", "shop.test"], ...extra]);

Deno.test("[load client] reads Content-Length, chunked and empty bodies over one keep-alive connection", async () => {
  const peers = new Set<string>();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request, info) => {
    peers.add(`${info.remoteAddr.port}`);
    const path = new URL(request.url).pathname;
    if (path === "/fixed") return new Response("x".repeat(5000));
    if (path === "/empty") return new Response(null, { status: 204 });
    // A stream has no length: Deno sends it chunked.
    const chunks = ["first,", "y".repeat(40_000), ",last"];
    return new Response(
      new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(next));
        },
      }),
      { headers: { "set-cookie": "session=abc; HttpOnly" } },
    );
  });
  const connection = new KeepAliveConnection("127.0.0.1", server.addr.port);
  try {
    const fixed = await connection.send(get("/fixed"), { timeoutMs: 5000, keepBody: true });
    assert.equal(fixed.status, 200);
    assert.equal(fixed.body?.length, 5000);
    assert.ok(fixed.bytes > 5000);
    const chunked = await connection.send(get("/chunked"), { timeoutMs: 5000, keepBody: true });
    const text = new TextDecoder().decode(chunked.body);
    assert.ok(text.startsWith("first,") && text.endsWith(",last"), text.slice(0, 20));
    assert.equal(text.length, 6 + 40_000 + 5);
    assert.deepEqual(chunked.setCookies, ["session=abc; HttpOnly"]);
    const empty = await connection.send(get("/empty"), { timeoutMs: 5000 });
    assert.equal(empty.status, 204);
    for (let i = 0; i < 20; i++) await connection.send(get("/fixed"), { timeoutMs: 5000 });
    assert.equal(peers.size, 1, "every request went over the same connection");
  } finally {
    connection.close();
    await server.shutdown();
  }
});

/** A raw server that answers each request once and then closes the connection silently. */
function startClosingServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const done = (async () => {
    for await (const conn of listener) {
      accepted++;
      (async () => {
        const buffer = new Uint8Array(4096);
        await conn.read(buffer);
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        );
        await new Promise((resolve) => setTimeout(resolve, 20));
        conn.close(); // like an idle timeout, without Connection: close
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    close: async () => {
      listener.close();
      await done;
    },
  };
}

Deno.test("[load client] a keep-alive connection the server closed while idle is reopened, not counted as a failure", async () => {
  const server = startClosingServer();
  const connection = new KeepAliveConnection("127.0.0.1", server.port);
  try {
    for (let i = 0; i < 3; i++) {
      const response = await connection.send(get("/"), { timeoutMs: 5000 });
      assert.equal(response.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(server.accepted(), 3);
  } finally {
    connection.close();
    await server.close();
  }
});

Deno.test("[load client] a response that does not come within the timeout fails as a timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // reads nothing, answers nothing
  })().catch(() => {});
  const connection = new KeepAliveConnection("127.0.0.1", (listener.addr as Deno.NetAddr).port);
  try {
    const started = performance.now();
    await assert.rejects(
      connection.send(get("/"), { timeoutMs: 300 }),
      (error: Error & { reason?: string }) => error.reason === "timeout",
    );
    const took = performance.now() - started;
    assert.ok(took >= 300 && took < 5000, `gave up after ${Math.round(took)} ms`);
  } finally {
    connection.close();
    listener.close();
    held.forEach((conn) => conn.close());
    await accepting;
  }
});

Deno.test("[load client] response heads are parsed for status, framing, Connection and cookies", () => {
  const head = parseHead(
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\nConnection: close\r\n" +
      "Set-Cookie: a=1\r\nset-cookie: b=2; Path=/\r\nRetry-After: 1",
  );
  assert.deepEqual(head, {
    status: 503,
    contentLength: 12,
    chunked: false,
    close: true,
    setCookies: ["a=1", "b=2; Path=/"],
  });
  assert.equal(parseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked").chunked, true);
  assert.throws(() => parseHead("SSH-2.0-OpenSSH"), /not an HTTP\/1 response/);
});

Deno.test("[load client] a step's own headers and JSON body reach the server", async () => {
  const { createRequest } = await import("./steps.ts");
  let seen: { key: string | null; type: string | null; body: unknown } | undefined;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    seen = {
      key: request.headers.get("idempotency-key"),
      type: request.headers.get("content-type"),
      body: await request.json(),
    };
    return new Response(null, { status: 204 });
  });
  const request = createRequest(
    `http://127.0.0.1:${server.addr.port}`,
    { id: 1, iteration: 1, logsIn: false, buys: false, cookies: new Map() },
    { record() {}, note() {} },
    { timeoutMs: 5000, signal: new AbortController().signal, step: () => "checkout" },
  );
  try {
    const response = await request("/api/checkout", {
      method: "POST",
      json: { items: 2 },
      headers: { "idempotency-key": "load-1-1" },
    });
    assert.equal(response.status, 204);
    assert.deepEqual(seen, { key: "load-1-1", type: "application/json", body: { items: 2 } });
  } finally {
    request.close();
    await server.shutdown();
  }
});
