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

Deno.test("[server] when descriptors run out and Deno's accept loop dies, the server listens again", async () => {
  const serverModule = new URL("../../../edge/platform/server.ts", import.meta.url).href;
  const logModule = new URL("../../../edge/platform/log.ts", import.meta.url).href;
  const script = `
    import { serveGracefully } from "${serverModule}";
    import { createLogger } from "${logModule}";
    const logger = createLogger("info");
    // As main.ts does at start-up: registered later, with no descriptor left, Deno 2.9.6
    // panics in its signal setup (ext/signals, EMFILE).
    Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
    const server = serveGracefully(() => Promise.resolve(new Response("ok")), {
      port: 0, hostname: "127.0.0.1", shutdownDeadlineMs: 100, logger,
    });
    console.log(server.addr.port);
  `;
  const child = new Deno.Command("sh", {
    args: ["-c", `ulimit -n 96 && exec "$0" eval "$1"`, Deno.execPath(), script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const flood: Deno.Conn[] = [];
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const reading = (async () => {
    for (let chunk = await stderr.read(); !chunk.done; chunk = await stderr.read()) {
      log += chunk.value;
    }
  })();
  try {
    const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await stdout.read()).value?.trim());
    stdout.releaseLock();
    for (let i = 0; i < 150; i++) {
      try {
        flood.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      } catch {
        break; // refused once the listener is gone
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const conn of flood.splice(0)) conn.close();
    let answered = false;
    for (let attempt = 0; attempt < 50 && !answered; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answered = await fetch(`http://127.0.0.1:${port}/`).then(
        async (response) => (await response.text()) === "ok",
        () => false,
      );
    }
    const exited = await Promise.race([
      child.status.then((status) => `exited with code ${status.code}, signal ${status.signal}`),
      new Promise<string>((resolve) => setTimeout(() => resolve("running"), 10)),
    ]);
    assert.ok(answered, `no answer after the flood; the server ${exited}; log:\n${log}`);
    assert.match(log, /stopped accepting connections; listening again/);
    assert.match(log, /Too many open files/);
  } finally {
    for (const conn of flood) conn.close();
    try {
      child.kill("SIGKILL");
    } catch {
      // it exited already: the assertions above (with its log) say why
    }
    await child.status;
    await reading.catch(() => {});
  }
});
