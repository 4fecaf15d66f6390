import assert from "node:assert/strict";
import { Histogram } from "./histogram.ts";

function exactPercentile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("[histogram] percentiles are within 1% of exact nearest-rank percentiles", async (t) => {
  const random = seeded(42);
  const distributions: Record<string, () => number> = {
    "uniform 1–4000 ms": () => 1 + random() * 3999,
    "log-normal around 50 ms": () => Math.exp(Math.log(50) + 1.2 * (random() + random() - 1)),
    "bimodal 0.2 ms / 30 s": () => random() < 0.9 ? 0.2 + random() * 0.1 : 30_000 + random() * 1e4,
  };
  for (const [name, next] of Object.entries(distributions)) {
    await t.step(name, () => {
      const hist = new Histogram();
      const samples = Array.from({ length: 50_000 }, next);
      for (const v of samples) hist.record(v);
      samples.sort((a, b) => a - b);
      for (const q of [0.01, 0.5, 0.9, 0.95, 0.99, 0.999]) {
        const exact = exactPercentile(samples, q);
        const error = Math.abs(hist.percentile(q) - exact) / exact;
        assert.ok(error <= 0.01, `p${q * 100}: ${hist.percentile(q)} vs ${exact} (${error})`);
      }
      assert.equal(hist.count, samples.length);
      assert.equal(hist.min, samples[0]);
      assert.equal(hist.max, samples.at(-1));
    });
  }
});

Deno.test("[histogram] merging serialized histograms equals recording everything in one", () => {
  const random = seeded(7);
  const whole = new Histogram();
  const parts = [new Histogram(), new Histogram(), new Histogram()];
  for (let i = 0; i < 9000; i++) {
    const v = random() * 1000;
    whole.record(v);
    parts[i % 3].record(v);
  }
  const merged = new Histogram();
  for (const part of parts) merged.merge(JSON.parse(JSON.stringify(part)));
  merged.merge(new Histogram().toJSON());
  assert.deepEqual(merged.counts, whole.counts);
  assert.equal(merged.count, whole.count);
  assert.equal(merged.percentile(0.95), whole.percentile(0.95));
});

Deno.test("[histogram] an empty histogram reports zeros", () => {
  const hist = new Histogram();
  assert.equal(hist.percentile(0.95), 0);
  assert.equal(hist.mean, 0);
});
