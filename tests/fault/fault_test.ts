/**
 * The short fault suite (see suite.ts): every dependency killed, paused and restarted under load,
 * then SIGTERM with requests in flight. `deno run -A tests/bench/fault_bench.ts` runs the long one.
 */
import assert from "node:assert/strict";
import { formatPhase, runFaultSuite } from "./suite.ts";

Deno.test("[fault] reads hold, writes refuse politely and recover, nothing acknowledged is lost, SIGTERM drains", async (t) => {
  const report = await runFaultSuite({
    faultMs: 2000,
    readers: 3,
    // Paced, so the shop's load leaves CPU to the tests running beside this one.
    readPauseMs: 20,
    productCount: 150,
    log: (line) => console.log(`  ${line}`),
  });
  const logCounts = new Map<string, number>();
  for (const line of report.logs) {
    const key = `${line.level} ${line.msg}`;
    logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
  }
  console.log(`  the shop's log: ${JSON.stringify(Object.fromEntries(logCounts))}`);

  await t.step("catalog reads never fail while a replica or the cache can answer", () => {
    for (const phase of report.phases.filter((p) => p.fault !== "shop")) {
      assert.ok(phase.reads.requests > 0, `${phase.name}: the load kept reading`);
      assert.deepEqual(phase.reads.non200, {}, formatPhase(phase));
    }
  });
  await t.step("writes answer 503 with Retry-After only while the primary is down", () => {
    for (const phase of report.phases.filter((p) => p.fault !== "shop")) {
      const refused = Object.keys(phase.writes.non200);
      if (phase.fault === "primary") {
        assert.deepEqual(refused.filter((s) => s !== "503"), [], formatPhase(phase));
        assert.equal(phase.writes.unavailableWithoutRetryAfter, 0, formatPhase(phase));
      } else {
        assert.deepEqual(refused, [], formatPhase(phase));
      }
    }
    const primaryDown = report.phases.find((p) => p.name === "primary killed (SIGKILL)")!;
    assert.ok((primaryDown.writes.non200["503"] ?? 0) > 0, "writes were refused while it was down");
    const after = report.phases.find((p) => p.name === "redis killed (SIGKILL)")!;
    assert.ok(after.writes.requests > 0, "and work again after");
  });
  await t.step("no acknowledged write is lost", () => {
    assert.ok(report.acknowledgedWrites > 20, `${report.acknowledgedWrites} acknowledged`);
    assert.deepEqual(report.lostWrites, []);
  });
  await t.step("SIGTERM lets in-flight requests finish, then exits 0", () => {
    assert.equal(
      report.drain.completed,
      report.drain.inFlight,
      `statuses ${report.drain.statuses}`,
    );
    assert.equal(report.drain.exitCode, 0);
  });
  await t.step("an outage is logged once, not once per request", () => {
    const lines = (msg: string) => report.logs.filter((l) => l.msg === msg).length;
    const replicaAlone = lines(
      "database reads continue from the replica alone while the primary is down",
    );
    assert.ok(replicaAlone >= 1 && replicaAlone <= 2, `${replicaAlone} lines for 2 outages`);
    const primaryDown = report.logs.filter((l) =>
      l.msg === "database unreachable" && l.target === "primary"
    ).length;
    assert.ok(primaryDown >= 1 && primaryDown <= 2, `${primaryDown} lines for 2 outages`);
    // Redis was killed once and paused once; polling it every 250 ms used to log each failed
    // poll (about 30 lines a run). Allow a blip around each restart on a busy machine.
    for (const user of ["denylist", "rate limit"]) {
      const down =
        report.logs.filter((l) => String(l.msg).startsWith(`${user}: redis unavailable`)).length;
      assert.ok(down <= 4, `${down} "${user}" lines for 2 Redis outages`);
    }
    assert.deepEqual(report.logs.filter((l) => l.level === "raw"), [], "every line is JSON");
  });
});
