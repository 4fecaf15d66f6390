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
  assert.deepEqual(report.checks.database, { ok: false, error: "connection refused" });
  assert.equal(report.checks.kv.ok, false);
  assert.match(report.checks.kv.error ?? "", /did not answer within 50 ms/);
  assert.deepEqual(report.checks.fine, { ok: true });
});
