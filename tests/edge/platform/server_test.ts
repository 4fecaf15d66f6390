import assert from "node:assert/strict";
import { createLogger } from "../../../edge/platform/log.ts";
import { serveGracefully } from "../../../edge/platform/server.ts";

const quiet = createLogger("error", { write: () => {} });

Deno.test("[server] graceful shutdown finishes an in-flight request with Connection: close and refuses new ones", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let started!: () => void;
  const requestStarted = new Promise<void>((resolve) => started = resolve);
  let closed = false;
  const server = serveGracefully(async (request) => {
    if (new URL(request.url).pathname === "/slow") {
      started();
      await released;
      return new Response("finished");
    }
    return new Response("fast");
  }, {
    port: 0,
    hostname: "127.0.0.1",
    shutdownDeadlineMs: 5000,
    logger: quiet,
    onClosed: () => {
      closed = true;
    },
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const inFlight = fetch(`${base}/slow`);
  await requestStarted;
  const shutdown = server.shutdown("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 50));
  await assert.rejects(fetch(`${base}/fast`), "new connections are refused while draining");
  assert.equal(closed, false, "clients stay open while a request is running");
  release();
  const response = await inFlight;
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "finished");
  assert.equal(response.headers.get("connection"), "close", "keep-alive clients are told to go");
  await shutdown;
  assert.equal(closed, true, "clients close after draining");
});

Deno.test("[server] shutdown gives up on requests that outlive the deadline", async () => {
  let started!: () => void;
  const requestStarted = new Promise<void>((resolve) => started = resolve);
  let closed = false;
  const server = serveGracefully(async () => {
    started();
    await new Promise((resolve) => setTimeout(resolve, 800));
    return new Response("too late");
  }, {
    port: 0,
    hostname: "127.0.0.1",
    shutdownDeadlineMs: 100,
    logger: quiet,
    onClosed: () => {
      closed = true;
    },
  });
  const stuck = fetch(`http://127.0.0.1:${server.addr.port}/`).catch((error) => error);
  await requestStarted;
  const began = performance.now();
  await server.shutdown("SIGTERM");
  const took = performance.now() - began;
  assert.ok(took < 700, `shutdown returned after ${Math.round(took)} ms, not after the request`);
  assert.equal(closed, true);
  await stuck;
});
