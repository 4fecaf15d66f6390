import assert from "node:assert/strict";
import { parseArgs, parseStages, parseThreshold, presetOptions, targetAt } from "./config.ts";
import { runLoad } from "./coordinator.ts";
import { formatSummary } from "./summary.ts";
import { renderReport } from "./report_html.ts";
import { shareOf } from "./vu_runner.ts";
import { startStub } from "./stub_server.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

Deno.test("[load] stages ramp linearly like k6 ramping-vus", () => {
  const stages = parseStages("30s:100,1m:1000,30s:0");
  assert.deepEqual(stages.map((s) => s.durationMs), [30_000, 60_000, 30_000]);
  assert.equal(targetAt(stages, 0), 0);
  assert.equal(targetAt(stages, 15_000), 50);
  assert.equal(targetAt(stages, 60_000), 550);
  assert.equal(targetAt(stages, 105_000), 500);
  assert.equal(targetAt(stages, 200_000), 0);
});

Deno.test("[load] VUs split across generator processes add up to the target", () => {
  for (const target of [0, 1, 7, 1000, 9999]) {
    const total = [0, 1, 2, 3].reduce((sum, w) => sum + shareOf(target, w, 4), 0);
    assert.equal(total, target);
  }
});

Deno.test("[load] thresholds parse k6 spellings", () => {
  assert.deepEqual(parseThreshold("p(95)<500"), {
    source: "p(95)<500",
    scope: "all",
    stat: "p95",
    op: "<",
    value: 500,
  });
  assert.equal(parseThreshold("http_req_failed:rate<0.01").stat, "failed");
  assert.equal(parseThreshold("search:p99<=800").scope, "search");
  assert.throws(() => parseThreshold("p95 is small"), RangeError);
});

Deno.test("[load] smoke run against a stub counts requests, steps and failures", async () => {
  const stub = startStub();
  try {
    const result = await runLoad(presetOptions("smoke", { url: stub.url, workers: 1 }));
    assert.ok(result.reqs > 20, `only ${result.reqs} requests`);
    const step = (name: string) => result.steps.find((s) => s.name === name);
    // The stub fails /search only, so failures are exactly the search requests: 1 in 4.
    assert.equal(result.failed, step("search")?.reqs);
    assert.ok(Math.abs(result.failedRate - 0.25) < 0.02, `failed rate ${result.failedRate}`);
    assert.equal(step("category")?.failed, 0);
    assert.deepEqual(result.errors.map((e) => e.reason), ["HTTP 500"]);
    assert.ok(result.failedDuration.med > 0 && result.failedDuration.med < 1000);
    // The stub has no login endpoint: disabled after a 404, not counted as a failure.
    assert.ok(result.notes.some((n) => n.includes("/api/auth/login answered 404")));
    assert.equal(step("login")?.failed ?? 0, 0);
    assert.equal(result.vusMax, 5);
    assert.equal(result.vusPeak, 5);
    assert.equal(result.interrupted, 0);
    assert.ok(result.iterations > 0);
    assert.ok(result.series.length >= 3);
    assert.equal(result.generator.length, 1);
    const p95 = result.thresholds.find((t) => t.source === "p95<500");
    const failed = result.thresholds.find((t) => t.source === "failed<0.01");
    assert.equal(p95?.ok, true);
    assert.equal(failed?.ok, false);
    assert.equal(result.passed, false);
    assert.match(formatSummary(result), /http_req_duration\.+: avg=/);
    assert.match(renderReport(result), /<svg[^>]*aria-label="Response time percentiles"/);
  } finally {
    await stub.close();
  }
});

Deno.test("[load] CLI exits 0 when thresholds pass and 99 when one fails", async () => {
  const stub = startStub();
  const dir = await Deno.makeTempDir();
  function cli(...thresholds: string[]) {
    return new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        MAIN,
        "--url",
        stub.url,
        "--preset",
        "smoke",
        "--quiet",
        "--report",
        `${dir}/report-${thresholds.length}.html`,
        ...thresholds.flatMap((t) => ["--threshold", t]),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  }
  try {
    const [pass, fail] = await Promise.all([
      cli("p95<5000", "failed<0.5"),
      cli("p95<0"),
    ]);
    const passOut = new TextDecoder().decode(pass.stdout);
    assert.equal(pass.code, 0, passOut + new TextDecoder().decode(pass.stderr));
    assert.match(passOut, /✓ p95<5000/);
    assert.equal(fail.code, 99);
    assert.match(new TextDecoder().decode(fail.stdout), /✗ p95<0/);
    assert.ok((await Deno.stat(`${dir}/report-2.html`)).size > 5000);
  } finally {
    await stub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[load] the path scenario loops on one page, without think time when it is 0", async () => {
  assert.throws(() => parseArgs(["--scenario", "path", "--path", "p/x"]), /must start with \//);
  const stub = startStub();
  try {
    const options = parseArgs([
      "--url",
      stub.url,
      "--scenario",
      "path",
      "--path",
      "/p/x",
      "--stages",
      "0s:4,2s:4",
      "--think",
      "0",
      "--workers",
      "0",
    ]);
    const result = await runLoad(options);
    assert.deepEqual(result.steps.map((s) => s.name), ["get"]);
    assert.equal(result.failed, 0);
    // A closed loop: far more than the 4 VUs × 2 s a think time would allow.
    assert.ok(result.reqs > 200, `only ${result.reqs} requests`);
  } finally {
    await stub.close();
  }
});
