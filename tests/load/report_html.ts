/**
 * The HTML report: one self-contained file (inline CSS and SVG drawn here, no scripts,
 * no CDN) with headline numbers, thresholds, four time-series charts and the tables.
 */

import type { LoadResult, SeriesPoint } from "./metrics.ts";
import {
  formatBytes,
  formatMs,
  formatPercent,
  formatStages,
  formatThresholdValue,
} from "./summary.ts";

/** The published k6 run we compare against (same stages, home page, think 1–4 s). */
const PUBLISHED = { p95: 58_230, med: 4_400, failedRate: 0.0514, rps: 26.2 };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 1, 2, 5 × 10^k steps giving about `count` ticks up to `max`. */
function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.001; v += step) ticks.push(v);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
}

interface Line {
  name: string;
  color: string;
  values: number[];
  area?: boolean;
}

interface ChartOptions {
  title: string;
  unit: string;
  lines: Line[];
  formatY: (v: number) => string;
  limit?: { value: number; label: string };
}

const W = 560;
const H = 230;
const PAD = { left: 64, right: 16, top: 16, bottom: 40 };

function chart(times: number[], options: ChartOptions): string {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const maxT = Math.max(1, times[times.length - 1] ?? 1);
  let maxY = Math.max(0, ...options.lines.flatMap((l) => l.values.filter(Number.isFinite)));
  if (options.limit && options.limit.value < maxY * 4) maxY = Math.max(maxY, options.limit.value);
  const yTicks = niceTicks(maxY, 4);
  const top = yTicks[yTicks.length - 1] || 1;
  const x = (t: number) => PAD.left + (t / maxT) * plotW;
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const parts: string[] = [];
  for (const v of yTicks) {
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`,
      `<text x="${PAD.left - 8}" y="${y(v) + 4}" class="tick" text-anchor="end">${
        esc(options.formatY(v))
      }</text>`,
    );
  }
  for (const t of niceTicks(maxT, 6).filter((t) => t <= maxT)) {
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${PAD.top + plotH}" y2="${
        PAD.top + plotH + 4
      }" class="axis"/>`,
      `<text x="${x(t)}" y="${PAD.top + plotH + 18}" class="tick" text-anchor="middle">${
        formatSeconds(Math.round(t))
      }</text>`,
    );
  }
  parts.push(
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + plotH}" y2="${
      PAD.top + plotH
    }" class="axis"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${
      H - 4
    }" class="label" text-anchor="middle">elapsed time</text>`,
    `<text transform="translate(14 ${
      PAD.top + plotH / 2
    }) rotate(-90)" class="label" text-anchor="middle">${esc(options.unit)}</text>`,
  );
  if (options.limit && options.limit.value <= top) {
    const ly = y(options.limit.value);
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${ly}" y2="${ly}" class="limit"/>`,
      `<text x="${W - PAD.right - 4}" y="${ly - 5}" class="limit-label" text-anchor="end">${
        esc(options.limit.label)
      }</text>`,
    );
  }
  for (const line of options.lines) {
    // Non-finite values (seconds without requests) break the line instead of dropping to 0.
    const runs: string[][] = [[]];
    line.values.forEach((v, i) => {
      if (Number.isFinite(v)) {
        runs[runs.length - 1].push(`${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`);
      } else if (runs[runs.length - 1].length > 0) runs.push([]);
    });
    const points = runs.flat();
    if (points.length === 0) continue;
    if (line.area) {
      parts.push(
        `<polygon points="${x(times[0])},${y(0)} ${points.join(" ")} ${
          x(times[times.length - 1])
        },${y(0)}" fill="${line.color}" opacity="0.12"/>`,
      );
    }
    for (const run of runs.filter((r) => r.length > 0)) {
      parts.push(
        `<polyline points="${
          run.join(" ")
        }" fill="none" stroke="${line.color}" stroke-width="2" stroke-linejoin="round"/>`,
      );
    }
  }
  const legend = options.lines.map((l) =>
    `<span class="key"><i style="background:${l.color}"></i>${esc(l.name)}</span>`
  ).join("");
  return `<figure class="card chart"><figcaption><h3>${
    esc(options.title)
  }</h3>${legend}</figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(options.title)}">${
    parts.join("")
  }</svg></figure>`;
}

function charts(series: SeriesPoint[], result: LoadResult): string {
  const times = series.map((p) => p.t);
  const latency = (pick: (p: SeriesPoint) => number) =>
    series.map((p) => p.reqs > 0 ? pick(p) : NaN);
  const p95Limit = result.thresholds.find((t) => /^(all:)?p\(?95\)?\s*</.test(t.source));
  const limitValue = p95Limit ? Number(/([\d.]+)\s*$/.exec(p95Limit.source)?.[1]) : undefined;
  const msAxis = (v: number) => v >= 1000 ? `${+(v / 1000).toFixed(1)} s` : `${+v.toFixed(1)} ms`;
  const count = (v: number) => v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(1)}`;
  return [
    chart(times, {
      title: "Response time percentiles",
      unit: "http_req_duration",
      formatY: msAxis,
      lines: [
        { name: "p50", color: "#2563eb", values: latency((p) => p.p50) },
        { name: "p95", color: "#f59e0b", values: latency((p) => p.p95) },
        { name: "p99", color: "#dc2626", values: latency((p) => p.p99) },
      ],
      limit: limitValue !== undefined
        ? { value: limitValue, label: `threshold p95 < ${msAxis(limitValue)}` }
        : undefined,
    }),
    chart(times, {
      title: "Throughput",
      unit: "requests per second",
      formatY: count,
      lines: [{
        name: "requests/s",
        color: "#059669",
        values: series.map((p) => p.reqs),
        area: true,
      }],
    }),
    chart(times, {
      title: "Failures",
      unit: "failed requests per second",
      formatY: count,
      lines: [{
        name: "failed/s",
        color: "#dc2626",
        values: series.map((p) => p.failed),
        area: true,
      }],
    }),
    chart(times, {
      title: "Virtual users",
      unit: "active VUs",
      formatY: count,
      lines: [{ name: "VUs", color: "#7c3aed", values: series.map((p) => p.vus), area: true }],
    }),
  ].join("\n");
}

function kpi(label: string, value: string, hint = ""): string {
  return `<div class="card kpi"><div class="kpi-label">${esc(label)}</div><div class="kpi-value">${
    esc(value)
  }</div>${hint ? `<div class="kpi-hint">${esc(hint)}</div>` : ""}</div>`;
}

function table(head: string[], rows: string[][], numeric = new Set<number>()): string {
  const th = head.map((h, i) => `<th${numeric.has(i) ? ' class="num"' : ""}>${esc(h)}</th>`);
  const body = rows.map((r) =>
    `<tr>${r.map((c, i) => `<td${numeric.has(i) ? ' class="num"' : ""}>${c}</td>`).join("")}</tr>`
  );
  return `<table><thead><tr>${th.join("")}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

const CSS = `
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--ok:#059669;--bad:#dc2626}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:32px 24px 48px}
header{display:flex;align-items:center;gap:16px;flex-wrap:wrap}
h1{font-size:26px;margin:0;letter-spacing:-.01em}
h2{font-size:17px;margin:32px 0 12px}
h3{font-size:14px;margin:0;font-weight:600}
.meta{color:var(--muted);margin:6px 0 20px}
.badge{padding:4px 12px;border-radius:999px;font-weight:600;font-size:13px;color:#fff}
.badge.ok{background:var(--ok);color:#fff}.badge.bad{background:var(--bad);color:#fff}
.card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:16px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}
.kpi-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.kpi-value{font-size:26px;font-weight:650;font-variant-numeric:tabular-nums;margin-top:2px}
.kpi-hint{color:var(--muted);font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
.chart{margin:0}
figcaption{display:flex;align-items:center;gap:14px;margin-bottom:6px;flex-wrap:wrap}
figcaption h3{margin-right:auto}
.key{font-size:12px;color:var(--muted);display:inline-flex;align-items:center;gap:5px}
.key i{width:12px;height:3px;border-radius:2px;display:inline-block}
svg{width:100%;height:auto;display:block}
.grid{stroke:var(--line);stroke-width:1}.axis{stroke:#94a3b8;stroke-width:1}
.tick{font-size:11px;fill:var(--muted);font-variant-numeric:tabular-nums}
.label{font-size:11px;fill:#475569}
.limit{stroke:var(--bad);stroke-width:1.2;stroke-dasharray:5 4}
.limit-label{font-size:11px;fill:var(--bad)}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:12px;overflow:hidden}
th,td{padding:8px 12px;border-bottom:1px solid var(--line);text-align:left}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em;background:#f1f5f9}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:0}
.ok{color:var(--ok)}.bad{color:var(--bad)}
.two{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
ul.notes{margin:0;padding-left:20px;color:#334155}
footer{color:var(--muted);font-size:12px;margin-top:32px}
`;

/** Renders the self-contained HTML report for a finished run. */
export function renderReport(result: LoadResult): string {
  const d = result.duration;
  const passed = result.passed;
  const thresholdRows = result.thresholds.map((t) => [
    t.ok ? '<span class="ok">✓ pass</span>' : '<span class="bad">✗ fail</span>',
    `<code>${esc(t.source)}</code>`,
    esc(formatThresholdValue(t.source, t.actual)),
  ]);
  const stepRows = result.steps.map((s) => [
    esc(s.name),
    String(s.reqs),
    s.failed ? `<span class="bad">${s.failed}</span>` : "0",
    formatMs(s.med),
    formatMs(s.p95),
    formatMs(s.p99),
    formatMs(s.max),
  ]);
  const generatorRows = result.generator.map((w) => [
    `process ${w.worker}`,
    formatPercent(w.avgCpu),
    formatPercent(w.maxCpu),
    formatMs(w.maxLagMs),
    w.saturatedSeconds
      ? `<span class="bad">saturated ${w.saturatedSeconds} s</span>`
      : '<span class="ok">not saturated</span>',
  ]);
  const comparison = table(
    ["", "p95", "median", "failed", "req/s"],
    [
      [
        "Published k6 run (home, 1,000 VUs)",
        formatMs(PUBLISHED.p95),
        formatMs(PUBLISHED.med),
        formatPercent(PUBLISHED.failedRate),
        PUBLISHED.rps.toFixed(1),
      ],
      [
        `<strong>This run (${esc(result.preset)})</strong>`,
        formatMs(d.p95),
        formatMs(d.med),
        formatPercent(result.failedRate),
        result.rps.toFixed(1),
      ],
    ],
    new Set([1, 2, 3, 4]),
  );
  const errors = result.errors.length
    ? table(
      ["failure", "count"],
      result.errors.slice(0, 15).map((e) => [esc(e.reason), String(e.count)]),
      new Set([1]),
    )
    : '<p class="ok">No failed requests.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Load test · ${esc(result.preset)} · ${passed ? "passed" : "failed"}</title>
<style>${CSS}</style></head>
<body><main>
<header><h1>Load test: ${esc(result.preset)}</h1>
<span class="badge ${passed ? "ok" : "bad"}">${
    passed ? "thresholds passed" : "thresholds failed"
  }</span></header>
<p class="meta">${esc(result.scenario)} scenario against <code>${esc(result.url)}</code> · stages ${
    esc(formatStages(result.stages))
  } · think ${result.thinkMs[0] / 1000}–${
    result.thinkMs[1] / 1000
  } s · ${result.generator.length} generator process(es) · ${
    result.durationS.toFixed(0)
  } s · started ${esc(result.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC"))}</p>
<section class="kpis">
${kpi("p95 latency", formatMs(d.p95), `median ${formatMs(d.med)} · p99 ${formatMs(d.p99)}`)}
${kpi("failed requests", formatPercent(result.failedRate), `${result.failed} of ${result.reqs}`)}
${kpi("throughput", `${result.rps.toFixed(1)}/s`, `${result.reqs} requests`)}
${kpi("virtual users", String(result.vusPeak), `target max ${result.vusMax}`)}
${
    kpi(
      "iterations",
      String(result.iterations),
      result.interrupted ? `${result.interrupted} interrupted` : "none interrupted",
    )
  }
${kpi("data received", formatBytes(result.bytesReceived))}
</section>
<h2>Thresholds</h2>
${
    thresholdRows.length
      ? table(["result", "threshold", "measured"], thresholdRows)
      : "<p>No thresholds.</p>"
  }
<h2>Over time</h2>
<section class="charts">
${charts(result.series, result)}
</section>
<h2>Summary</h2>
${
    table(
      ["metric", "avg", "min", "med", "p(90)", "p(95)", "p(99)", "max"],
      [[
        "http_req_duration",
        formatMs(d.avg),
        formatMs(d.min),
        formatMs(d.med),
        formatMs(d.p90),
        formatMs(d.p95),
        formatMs(d.p99),
        formatMs(d.max),
      ]],
      new Set([1, 2, 3, 4, 5, 6, 7]),
    )
  }
<h2>Steps</h2>
${
    table(
      ["step", "requests", "failed", "med", "p(95)", "p(99)", "max"],
      stepRows,
      new Set([1, 2, 3, 4, 5, 6]),
    )
  }
<section class="two">
<div><h2>Failures</h2>${errors}</div>
<div><h2>Against the published run</h2>${comparison}</div>
</section>
<h2>Generator health</h2>
${
    table(
      ["process", "cpu avg", "cpu max", "max loop lag", "state"],
      generatorRows,
      new Set([1, 2, 3]),
    )
  }
<p class="meta">A process counts as saturated in a second when it used ≥ 90% of a core or its event loop lagged ≥ 100 ms; latencies measured then include client-side queueing. Coordinator: ${
    formatPercent(result.coordinatorCpu)
  } of a core.</p>
${
    result.notes.length
      ? `<h2>Notes</h2><ul class="notes">${
        result.notes.map((n) => `<li>${esc(n)}</li>`).join("")
      }</ul>`
      : ""
  }
<footer>Closed model like k6 <code>ramping-vus</code>: each VU runs its steps, then sleeps a uniform think time. Durations are time to the last body byte; percentiles come from log-bucket histograms (≤ 1% error). Generated by tests/load/main.ts.</footer>
</main></body></html>
`;
}
