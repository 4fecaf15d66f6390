import assert from "node:assert/strict";
import { CacheMetrics } from "../../../edge/cache/metrics.ts";
import { TierGuard, type TierGuardOptions } from "../../../edge/cache/tier_guard.ts";
import { createLogger } from "../../../edge/platform/log.ts";

/** A guard over a fake tier call, with its log lines and a clock the test can move ahead. */
function guarded(options: Partial<TierGuardOptions> = {}) {
  const lines: { level: string; msg: string; [field: string]: unknown }[] = [];
  const logger = createLogger("info", { write: (line) => lines.push(JSON.parse(line)) });
  let ahead = 0;
  const metrics = new CacheMetrics();
  const guard = new TierGuard("kv", {
    budgetMs: 20,
    logger,
    metrics,
    now: () => performance.now() + ahead,
    ...options,
  });
  return {
    guard,
    metrics,
    lines,
    unavailable: () =>
      lines.filter((line) => line.msg === "cache tier kv unavailable, skipping it"),
    recovered: () => lines.filter((line) => line.msg === "cache tier kv recovered"),
    advance(ms: number) {
      ahead += ms;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const refused = () => Promise.reject(new Error("connection refused"));

Deno.test("[tier guard] a burst of slow but succeeding calls is no outage", async () => {
  const { guard, metrics, unavailable } = guarded({ lateAnswerMs: 5000 });
  const answers = await Promise.all(
    Array.from({ length: 50 }, () => guard.run(() => sleep(80).then(() => "late"), "fallback")),
  );
  assert.ok(answers.every((answer) => answer === "fallback"), "over budget: the fallback");
  await guard.idle();
  assert.equal(metrics.value("tier_errors", { tier: "kv" }), 50, "overruns are counted");
  assert.equal(unavailable().length, 0);
  assert.equal(guard.down, false);
  assert.equal(await guard.run(() => Promise.resolve("fast"), "fallback"), "fast");
});

Deno.test("[tier guard] a dead tier logs one outage, is skipped, and logs one recovery with counts", async () => {
  const { guard, unavailable, recovered, advance } = guarded({ retryAfterMs: 500 });
  let calls = 0;
  const dead = () => {
    calls++;
    return refused();
  };
  for (let i = 0; i < 100; i++) assert.equal(await guard.run(dead, "fallback"), "fallback");
  assert.equal(calls, 3, "three failures in a row open it; then calls are skipped");
  assert.equal(guard.down, true);
  assert.equal(unavailable().length, 1);
  assert.equal(unavailable()[0].failures, 3);
  assert.equal(unavailable()[0].error, "connection refused");

  advance(501);
  await guard.run(dead, "fallback");
  assert.equal(calls, 4, "after the cool-down one call probes");
  assert.equal(unavailable().length, 1, "a failed probe logs nothing new");

  advance(501);
  assert.equal(await guard.run(() => Promise.resolve("back"), "fallback"), "back");
  assert.equal(guard.down, false);
  assert.equal(recovered().length, 1);
  assert.deepEqual(
    { failures: recovered()[0].failures, skipped: recovered()[0].skipped },
    { failures: 4, skipped: 97 },
  );

  for (let i = 0; i < 5; i++) await guard.run(dead, "fallback");
  assert.equal(unavailable().length, 2, "a new outage is logged again, once");
});

Deno.test("[tier guard] calls queued behind a burst may answer after the late window: no outage while others answer", async () => {
  const { guard, unavailable } = guarded({ budgetMs: 5, lateAnswerMs: 100 });
  // A queue that answers one call every 10 ms: the last ones wait far past the late window.
  let queue: Promise<unknown> = Promise.resolve();
  const queued = () => (queue = queue.then(() => sleep(10)));
  await Promise.all(Array.from({ length: 40 }, () => guard.run(queued, undefined)));
  await guard.idle();
  assert.equal(unavailable().length, 0);
  assert.equal(guard.down, false);
});

Deno.test("[tier guard] a success between failures keeps the tier up", async () => {
  const { guard, unavailable } = guarded();
  for (let i = 0; i < 10; i++) {
    await guard.run(refused, undefined);
    await guard.run(refused, undefined);
    await guard.run(() => Promise.resolve(1), undefined);
  }
  assert.equal(guard.down, false);
  assert.equal(unavailable().length, 0);
});

Deno.test("[tier guard] a tier that never answers is down once the late-answer window passes", async (t) => {
  const { guard, unavailable, advance } = guarded({ budgetMs: 10, lateAnswerMs: 60 });
  const hung = () => new Promise<never>(() => {});
  const started = performance.now();
  for (let i = 0; i < 3; i++) assert.equal(await guard.run(hung, "fallback"), "fallback");
  assert.equal(guard.down, false, "not yet: an overrun may still answer");
  await guard.idle();
  assert.ok(performance.now() - started >= 60);
  assert.equal(guard.down, true);
  assert.equal(unavailable().length, 1);
  assert.match(String(unavailable()[0].error), /did not answer within 60 ms/);

  await t.step("while down, one probe at a time", async () => {
    advance(1000);
    let probes = 0;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        guard.run(() => {
          probes++;
          return hung();
        }, "fallback")),
    );
    assert.deepEqual(answers, Array(5).fill("fallback"));
    assert.equal(probes, 1);
    await guard.idle();
    assert.equal(unavailable().length, 1);
  });
});
