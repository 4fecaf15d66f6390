/** The k6-style end-of-test summary, as plain text for the terminal. */

import type { Stage } from "./config.ts";
import type { LoadResult } from "./metrics.ts";

/** `850µs`, `12.34ms`, `4.40s`, like k6. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${ms.toFixed(2)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  return `${Math.floor(ms / 60_000)}m${((ms % 60_000) / 1000).toFixed(1)}s`;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatPercent(rate: number): string {
  return `${(rate * 100).toFixed(2)}%`;
}

export function formatStages(stages: Stage[]): string {
  return stages.map((s) => `${formatMs(s.durationMs).replace(/\.00s$/, "s")}→${s.target}`)
    .join(", ");
}

/** Formats a threshold's measured value in the unit its statistic uses. */
export function formatThresholdValue(source: string, actual: number): string {
  if (Number.isNaN(actual)) return "no data";
  if (/failed|rate/.test(source)) return formatPercent(actual);
  if (/rps/.test(source)) return `${actual.toFixed(1)}/s`;
  if (/reqs/.test(source)) return String(actual);
  return formatMs(actual);
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(24, ".")}: ${value}`;
}

/** Renders the summary; `color` adds ANSI green/red to the ✓/✗ marks. */
export function formatSummary(result: LoadResult, options: { color?: boolean } = {}): string {
  const green = (s: string) => options.color ? `\x1b[32m${s}\x1b[0m` : s;
  const red = (s: string) => options.color ? `\x1b[31m${s}\x1b[0m` : s;
  const d = result.duration;
  const out: string[] = [];
  out.push(
    "",
    `  scenario: ${result.scenario} (preset ${result.preset}) → ${result.url}`,
    `  stages:   ${formatStages(result.stages)} · think ${result.thinkMs[0] / 1000}–${
      result.thinkMs[1] / 1000
    } s · ${result.generator.length} generator process(es) · ${result.durationS.toFixed(1)} s`,
    "",
  );
  if (result.thresholds.length > 0) {
    out.push("  THRESHOLDS");
    for (const t of result.thresholds) {
      const mark = t.ok ? green("✓") : red("✗");
      out.push(`    ${mark} ${t.source.padEnd(22)} ${formatThresholdValue(t.source, t.actual)}`);
    }
    out.push("");
  }
  out.push(
    row(
      "http_req_duration",
      `avg=${formatMs(d.avg)} min=${formatMs(d.min)} med=${formatMs(d.med)} p(90)=${
        formatMs(d.p90)
      } p(95)=${formatMs(d.p95)} p(99)=${formatMs(d.p99)} max=${formatMs(d.max)}`,
    ),
    row(
      "http_req_failed",
      `${formatPercent(result.failedRate)}  ${result.failed} out of ${result.reqs}`,
    ),
    row("http_reqs", `${result.reqs}  ${result.rps.toFixed(2)}/s`),
    row(
      "iterations",
      `${result.iterations}  ${
        (result.iterations / Math.max(result.durationS, 0.001)).toFixed(2)
      }/s` +
        (result.interrupted ? `  (${result.interrupted} interrupted)` : ""),
    ),
    row("vus_max", `${result.vusMax}  (peak active ${result.vusPeak})`),
    row(
      "data_received",
      `${formatBytes(result.bytesReceived)}  ${
        formatBytes(result.bytesReceived / Math.max(result.durationS, 0.001))
      }/s`,
    ),
    "",
  );
  if (result.steps.length > 1) {
    out.push(
      `  ${"STEP".padEnd(12)}${"reqs".padStart(9)}${"failed".padStart(9)}` +
        `${"med".padStart(11)}${"p(95)".padStart(11)}${"p(99)".padStart(11)}`,
    );
    for (const s of result.steps) {
      out.push(
        `  ${s.name.padEnd(12)}${String(s.reqs).padStart(9)}${String(s.failed).padStart(9)}` +
          `${formatMs(s.med).padStart(11)}${formatMs(s.p95).padStart(11)}${
            formatMs(s.p99).padStart(11)
          }`,
      );
    }
    out.push("");
  }
  if (result.errors.length > 0) {
    out.push("  FAILURES");
    for (const e of result.errors.slice(0, 10)) {
      out.push(`    ${String(e.count).padStart(8)}  ${e.reason}`);
    }
    out.push("");
  }
  out.push("  GENERATOR");
  for (const w of result.generator) {
    const health = w.saturatedSeconds > 0
      ? red(`saturated ${w.saturatedSeconds} s`)
      : green("not saturated");
    out.push(
      `    process ${w.worker}: cpu avg ${formatPercent(w.avgCpu)} max ${
        formatPercent(w.maxCpu)
      } of a core, max event-loop lag ${formatMs(w.maxLagMs)} (${health})`,
    );
  }
  out.push(`    coordinator: cpu avg ${formatPercent(result.coordinatorCpu)} of a core`);
  if (result.generator.some((w) => w.saturatedSeconds > 0)) {
    out.push(
      red("    ⚠ a generator process was saturated (≥90% of a core or ≥100 ms loop lag):") +
        " latencies include client-side queueing; use more --workers",
    );
  }
  if (result.errors.some((e) => e.reason.startsWith("EMFILE"))) {
    out.push(
      red("    ⚠ EMFILE: the generator ran out of file descriptors;") +
        " raise `ulimit -n` before starting deno",
    );
  }
  out.push("");
  if (result.notes.length > 0) {
    out.push("  NOTES");
    for (const note of result.notes) out.push(`    - ${note}`);
    out.push("");
  }
  return out.join("\n");
}
