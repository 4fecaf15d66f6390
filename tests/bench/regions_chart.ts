/**
 * The regions benchmark as an SVG: one panel per region, for each request kind (and the
 * invalidation propagation) a bar for the regional setup and one for origin-only, p50 in ms on
 * one scale shared by every panel.
 */
import {
  MODES,
  type Percentiles,
  type RegionFigures,
  type RegionsBenchResult,
  REQUEST_KINDS,
} from "./regions_bench.ts";

const WIDTH = 760;
const ROW = 18;
const BAR = 7;
const LABEL_W = 150;
const COLORS = { regional: "#2563eb", "origin-only": "#f59e0b" } as const;
const ROWS = [...REQUEST_KINDS, "invalidation"] as const;

const esc = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

function p50(region: RegionFigures, mode: typeof MODES[number], row: typeof ROWS[number]) {
  const figures = region.modes[mode];
  const value: Percentiles | undefined = row === "invalidation"
    ? figures.invalidation
    : figures.ttfb[row];
  return value?.p50;
}

/** Renders the chart; `title` goes on top. */
export function renderRegionsChart(
  result: RegionsBenchResult,
  title = "p50 per region: edge and replica in the region vs one origin edge",
): string {
  const rows = ROWS.filter((row) =>
    result.regions.some((r) => p50(r, "regional", row) !== undefined)
  );
  const max = Math.max(
    1,
    ...result.regions.flatMap((r) => rows.flatMap((row) => MODES.map((m) => p50(r, m, row) ?? 0))),
  );
  const plotW = WIDTH - LABEL_W - 70;
  const x = (value: number) => LABEL_W + (value / max) * plotW;
  const panelH = 24 + rows.length * ROW;
  const parts: string[] = [];
  let y = 48;
  for (const region of result.regions) {
    parts.push(
      `<text x="8" y="${y}" class="region">${esc(region.name)} (${region.rttMs} ms RTT)</text>`,
    );
    rows.forEach((row, i) => {
      const top = y + 8 + i * ROW;
      parts.push(`<text x="${LABEL_W - 8}" y="${top + 12}" class="label">${row}</text>`);
      MODES.forEach((mode, m) => {
        const value = p50(region, mode, row);
        if (value === undefined) return;
        const barY = top + 1 + m * (BAR + 1);
        const w = Math.max(1, x(value) - LABEL_W);
        parts.push(
          `<rect x="${LABEL_W}" y="${barY}" width="${w.toFixed(1)}" height="${BAR}" fill="${
            COLORS[mode]
          }"/>`,
          `<text x="${(LABEL_W + w + 4).toFixed(1)}" y="${barY + BAR - 0.5}" class="value">${
            value < 10 ? value.toFixed(1) : value.toFixed(0)
          } ms</text>`,
        );
      });
    });
    y += panelH;
  }
  const legend = MODES.map((mode, i) =>
    `<rect x="${LABEL_W + i * 210}" y="22" width="12" height="8" fill="${COLORS[mode]}"/>` +
    `<text x="${LABEL_W + 16 + i * 210}" y="30" class="label-left">${
      mode === "regional" ? "edge + replica in the region" : "origin-only (one edge)"
    }</text>`
  ).join("");
  const height = y + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-family="system-ui, sans-serif">
<style>.region{font-size:13px;font-weight:600}.label{font-size:11px;text-anchor:end;fill:#374151}.label-left{font-size:11px;fill:#374151}.value{font-size:10px;fill:#111827}.title{font-size:14px;font-weight:600}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="16" class="title">${esc(title)}</text>${legend}
${parts.join("\n")}
</svg>
`;
}
