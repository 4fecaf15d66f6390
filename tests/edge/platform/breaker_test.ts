import assert from "node:assert/strict";
import { createBreaker } from "../../../edge/platform/breaker.ts";

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => now += ms };
}

Deno.test("[breaker] without a probe, the first call after the cool-down tries again", () => {
  const time = clock();
  const breaker = createBreaker({ coolDownMs: 1000, now: time.now });
  breaker.fail(new Error("refused"));
  assert.equal(breaker.isOpen(), true);
  assert.equal(breaker.retryAfterSeconds(), 1);
  time.advance(1000);
  assert.equal(breaker.isOpen(), false);
});

Deno.test("[breaker] with a probe, callers keep skipping a dead dependency until a background check succeeds", async () => {
  const time = clock();
  const health: boolean[] = [];
  let answers = false;
  let probes = 0;
  const breaker = createBreaker({
    coolDownMs: 1000,
    now: time.now,
    probe: () => {
      probes++;
      return answers ? Promise.resolve() : Promise.reject(new Error("no answer"));
    },
    onHealthChange: (healthy) => health.push(healthy),
  });
  assert.equal(breaker.isOpen(), false, "healthy: no probe runs");
  assert.equal(probes, 0);
  breaker.fail(new Error("timed out"));
  time.advance(1000);
  assert.equal(breaker.isOpen(), true, "the cool-down is over, but the probe has not answered");
  assert.equal(breaker.isOpen(), true);
  assert.equal(probes, 1, "one probe at a time");
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(breaker.isOpen(), true, "a failed probe starts a new cool-down");
  answers = true;
  time.advance(1000);
  assert.equal(breaker.isOpen(), true);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(breaker.isOpen(), false, "a successful probe closes it");
  assert.equal(probes, 2);
  assert.deepEqual(health, [false, true], "one report per outage");
});
