import assert from "node:assert/strict";
import { createReadinessProbe } from "../../../edge/platform/readiness.ts";

Deno.test("[readiness] caches the result so probes never hammer dependencies", async () => {
  let now = 1_000;
  let calls = 0;
  const probe = createReadinessProbe({
    database: () => {
      calls++;
      return Promise.resolve();
    },
  }, { cacheMs: 5000, now: () => now });
  const concurrent = await Promise.all(Array.from({ length: 50 }, () => probe()));
  assert.equal(calls, 1, "concurrent probes share one evaluation");
  assert.ok(concurrent.every((report) => report.ready));
  now += 4999;
  await probe();
  assert.equal(calls, 1, "inside the window nothing is called");
  now += 2;
  await probe();
  assert.equal(calls, 2, "after the window the check runs again");
});

Deno.test("[readiness] reports a failing or hanging dependency as not ready", async () => {
  const probe = createReadinessProbe({
    database: () => Promise.reject(new Error("connection refused")),
    kv: () => new Promise(() => {}),
    fine: () => Promise.resolve(),
  }, { timeoutMs: 50 });
  const report = await probe();
  assert.equal(report.ready, false);
  assert.equal(report.status, "unavailable");
  assert.deepEqual(report.down, ["database", "kv"]);
  // A driver's message can name internal hosts, and /readyz is public: the error's name only.
  assert.deepEqual(report.checks.database, { ok: false, error: "Error" });
  assert.equal(report.checks.kv.ok, false);
  assert.match(report.checks.kv.error ?? "", /did not answer within 50 ms/);
  assert.deepEqual(report.checks.fine, { ok: true });
});

Deno.test("[readiness] degraded, not unavailable, while the instance can still serve", async () => {
  const probe = createReadinessProbe({
    primary: () => Promise.reject(new TypeError("fetch failed: 10.0.0.5:8080")),
    replica: () => Promise.resolve(),
  }, { serves: (checks) => checks.primary.ok || checks.replica.ok });
  const report = await probe();
  assert.equal(report.status, "degraded");
  assert.equal(report.ready, true);
  assert.deepEqual(report.down, ["primary"]);
  assert.ok(!JSON.stringify(report).includes("10.0.0.5"), "no internal address in the report");
});
