import assert from "node:assert/strict";
import { backoffDelay } from "../../../edge/platform/backoff.ts";

Deno.test("[backoff] doubles per attempt within half to all of each step, up to the cap", () => {
  const options = { baseMs: 100, maxMs: 1000 };
  for (const [attempt, step] of [[1, 100], [2, 200], [3, 400], [4, 800], [5, 1000], [9, 1000]]) {
    assert.equal(backoffDelay(attempt, { ...options, random: () => 0 }), step / 2);
    assert.equal(backoffDelay(attempt, { ...options, random: () => 0.999999 }), step);
  }
});

Deno.test("[backoff] jitter spreads rows that failed together", () => {
  const delays = new Set(
    Array.from({ length: 50 }, () => backoffDelay(6, { baseMs: 1000, maxMs: 60_000 })),
  );
  assert.ok(delays.size > 40, `only ${delays.size} distinct delays`);
  for (const delay of delays) assert.ok(delay >= 16_000 && delay <= 32_000);
});
