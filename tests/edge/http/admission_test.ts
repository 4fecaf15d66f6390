import assert from "node:assert/strict";
import {
  type AdmissionOptions,
  type Priority,
  withAdmission,
} from "../../../edge/http/admission.ts";

/** A handler whose requests to /block wait until `releaseOne()`; everything else answers at once. */
function blockingHandler() {
  const waiting: Array<() => void> = [];
  return {
    handler: async (request: Request): Promise<Response> => {
      if (new URL(request.url).pathname === "/block") {
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      return new Response("served");
    },
    releaseOne: () => waiting.shift()?.(),
    releaseAll: () => waiting.splice(0).forEach((resolve) => resolve()),
    blocked: () => waiting.length,
  };
}

function priorityFromQuery(request: Request): Priority {
  return (new URL(request.url).searchParams.get("priority") ?? "high") as Priority;
}

function admission(
  handler: (request: Request) => Promise<Response>,
  overrides: Partial<AdmissionOptions> = {},
) {
  return withAdmission<undefined>(handler, {
    maxInFlight: 2,
    queueLimit: 5,
    queueTimeoutMs: 2000,
    lowPriorityLagMs: 10_000,
    highPriorityLagMs: 10_000,
    priorityOf: priorityFromQuery,
    onShed: (_request, retryAfter) =>
      new Response("busy", { status: 503, headers: { "retry-after": String(retryAfter) } }),
    ...overrides,
  });
}

const request = (path: string) => new Request(`http://shop.test${path}`);

Deno.test("[admission] beyond the in-flight cap, catalog requests wait for a slot and sign-ins get a fast 503", async () => {
  const blocking = blockingHandler();
  const gate = admission(blocking.handler);
  try {
    const first = gate.handler(request("/block"), undefined);
    const second = gate.handler(request("/block"), undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(blocking.blocked(), 2);

    const started = performance.now();
    const signIn = await gate.handler(request("/block?priority=low"), undefined);
    assert.equal(signIn.status, 503);
    assert.ok(Number(signIn.headers.get("retry-after")) >= 1);
    assert.ok(performance.now() - started < 500, "refused at once, not after waiting");

    const catalog = gate.handler(request("/fast"), undefined);
    const health = await gate.handler(request("/fast?priority=critical"), undefined);
    assert.equal(health.status, 200, "health checks are never refused");
    assert.equal(gate.stats().queued, 1);
    blocking.releaseOne();
    assert.equal((await catalog).status, 200, "the waiting catalog request got the freed slot");
    blocking.releaseAll();
    assert.deepEqual([(await first).status, (await second).status], [200, 200]);
    const stats = gate.stats();
    assert.equal(stats.shed.low_in_flight, 1);
    assert.equal(stats.admitted.high, 3);
    assert.equal(stats.inFlight, 0);
  } finally {
    blocking.releaseAll();
    gate.close();
  }
});

Deno.test("[admission] a catalog request that waits longer than the queue timeout is refused with 503", async () => {
  const blocking = blockingHandler();
  const gate = admission(blocking.handler, { maxInFlight: 1, queueTimeoutMs: 100 });
  try {
    const held = gate.handler(request("/block"), undefined);
    const started = performance.now();
    const waited = await gate.handler(request("/fast"), undefined);
    const took = performance.now() - started;
    assert.equal(waited.status, 503);
    assert.ok(took >= 100 && took < 3000, `refused after ${Math.round(took)} ms`);
    assert.equal(gate.stats().shed.high_queue_timeout, 1);
    blocking.releaseAll();
    assert.equal((await held).status, 200);
  } finally {
    blocking.releaseAll();
    gate.close();
  }
});

Deno.test("[admission] a full queue refuses catalog requests at once", async () => {
  const blocking = blockingHandler();
  const gate = admission(blocking.handler, { maxInFlight: 1, queueLimit: 2 });
  try {
    const held = [0, 1, 2].map(() => gate.handler(request("/block"), undefined));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const refused = await gate.handler(request("/fast"), undefined);
    assert.equal(refused.status, 503);
    assert.equal(gate.stats().shed.high_in_flight, 1);
    blocking.releaseAll();
    // Queued requests get their slots one after another.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      blocking.releaseAll();
    }
    assert.deepEqual((await Promise.all(held)).map((r) => r.status), [200, 200, 200]);
  } finally {
    blocking.releaseAll();
    gate.close();
  }
});

/** Keeps the event loop busy in 100 ms slices for `ms`, like a saturated CPU. */
function busyLoop(ms: number): Promise<void> {
  const until = performance.now() + ms;
  return new Promise((resolve) => {
    const slice = () => {
      const end = performance.now() + 100;
      while (performance.now() < end) { /* burn */ }
      if (performance.now() < until) setTimeout(slice, 5);
      else resolve();
    };
    setTimeout(slice, 0);
  });
}

Deno.test("[admission] when the event loop falls behind, sign-ins are refused first while the catalog is served", async () => {
  const gate = admission(() => Promise.resolve(new Response("served")), {
    maxInFlight: 100,
    lowPriorityLagMs: 40,
    highPriorityLagMs: 5000,
  });
  try {
    const busy = busyLoop(1200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const [signIn, catalog] = await Promise.all([
      gate.handler(request("/x?priority=low"), undefined),
      gate.handler(request("/x"), undefined),
    ]);
    assert.equal(signIn.status, 503, `standing delay ${gate.stats().lagMs} ms`);
    assert.ok(Number(signIn.headers.get("retry-after")) >= 5, "sign-ins are told to wait longer");
    assert.equal(catalog.status, 200);
    assert.equal(gate.stats().shed.low_event_loop_delay, 1);
    await busy;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal((await gate.handler(request("/x?priority=low"), undefined)).status, 200);
  } finally {
    gate.close();
  }
});
