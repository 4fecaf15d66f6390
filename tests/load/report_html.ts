import type { LoadResult } from "./metrics.ts";
export function renderReport(result: LoadResult): string {
  return `<pre>${JSON.stringify(result.duration)}</pre>`;
}
