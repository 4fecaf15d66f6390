import assert from "node:assert/strict";
import { createBreaker, createOutageBreaker } from "../../../edge/platform/breaker.ts";
import { createLogger } from "../../../edge/platform/log.ts";

Deno.test("[breaker] after the cool-down one caller probes while the others keep skipping", () => {
  let now = 0;
  const changes: boolean[] = [];
  const breaker = createBreaker({
    coolDownMs: 1000,
    now: () => now,
    onHealthChange: (healthy) => changes.push(healthy),
  });
  assert.equal(breaker.allow(), true, "healthy: everyone calls");
  assert.equal(breaker.allow(), true);
  breaker.fail(new Error("hangs"));
  assert.equal(breaker.allow(), false, "cooling down");
  assert.equal(breaker.retryAfterSeconds(), 1);
  now = 1000;
  assert.equal(breaker.allow(), true, "the first caller after the cool-down probes");
  assert.equal(breaker.allow(), false, "the others skip while the probe is out");
  assert.equal(breaker.isOpen(), true);
  breaker.fail(new Error("still hangs"));
  now = 2000;
  assert.equal(breaker.allow(), true, "the next probe");
  breaker.succeed();
  assert.equal(breaker.allow(), true, "healthy again: everyone calls");
  assert.equal(breaker.allow(), true);
  assert.deepEqual(changes, [false, true], "one report when the outage starts, one when it ends");
});

Deno.test("[breaker] a probe that never reports is given up after one cool-down", () => {
  let now = 0;
  const breaker = createBreaker({ coolDownMs: 500, now: () => now });
  breaker.fail(new Error("down"));
  now = 500;
  assert.equal(breaker.allow(), true);
  now = 999;
  assert.equal(breaker.allow(), false);
  now = 1000;
  assert.equal(breaker.allow(), true, "a new probe");
});

Deno.test("[breaker] an outage breaker logs an outage once, and a single blip not at all", () => {
  const lines: Array<{ level: string; msg: string }> = [];
  const logger = createLogger("debug", { write: (line) => lines.push(JSON.parse(line)) });
  const breaker = createOutageBreaker({
    what: "store",
    fallback: "using the other one",
    logger,
    coolDownMs: 0,
  });
  breaker.fail(new Error("one timeout"));
  breaker.succeed();
  assert.equal(lines.length, 0, "a blip");
  for (let i = 0; i < 50; i++) breaker.fail(new Error("down"));
  breaker.succeed();
  assert.deepEqual(lines.map((l) => `${l.level} ${l.msg}`), [
    "warn store unavailable, using the other one",
    "info store reachable again",
  ]);
});

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

Deno.test("[breaker] with a probe, no caller is let through to a dead dependency; the probe reopens it", async () => {
  let now = 0;
  let answers = false;
  const breaker = createBreaker({
    coolDownMs: 1000,
    now: () => now,
    probe: () => answers ? Promise.resolve() : Promise.reject(new Error("no answer")),
  });
  assert.equal(breaker.allow(), true, "healthy: callers go through");
  breaker.fail(new Error("timed out"));
  now = 1000;
  assert.equal(
    breaker.allow(),
    false,
    "after the cool-down the background probe checks, not a caller",
  );
  assert.equal(breaker.allow(), false);
  answers = true;
  await Promise.resolve();
  await Promise.resolve();
  now = 2000;
  assert.equal(
    breaker.allow(),
    false,
    "the failed probe started a new cool-down; the next one runs now",
  );
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(breaker.allow(), true, "a successful probe lets callers through again");
});
