/**
 * Cold vs warm product page time to first byte on a fresh shop process: for each of N products
 * never requested before, the first request (X-Cache MISS: origin render) then the same page again
 * (L0: in-process cache). TTFB is the time until `fetch` resolves, i.e. until the response headers
 * arrive. Not part of `deno task test`:
 *
 *   deno run --allow-all tests/bench/ttfb_bench.ts [--products 50]
 *
 * `deno task bench` runs it with the other macro benchmarks (tests/bench/main.ts).
 */
import { productSlugs, startShop } from "./shop_process.ts";
import { percentile } from "./stats.ts";

export interface TtfbStats {
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** How many answers carried each X-Cache value. */
  xCache: Record<string, number>;
}

export interface TtfbResult {
  products: number;
  /** The very first product page after start-up (also MISS), kept out of the cold figures. */
  firstRequestMs: number;
  cold: TtfbStats;
  warm: TtfbStats;
}

async function timeToHeaders(url: string): Promise<{ ms: number; xCache: string }> {
  const started = performance.now();
  const response = await fetch(url);
  const ms = performance.now() - started;
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`"${url}" answered ${response.status}`);
  return { ms, xCache: response.headers.get("x-cache") ?? "none" };
}

function stats(samples: Array<{ ms: number; xCache: string }>): TtfbStats {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const xCache: Record<string, number> = {};
  for (const { xCache: value } of samples) xCache[value] = (xCache[value] ?? 0) + 1;
  return {
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    maxMs: sorted.at(-1) ?? NaN,
    xCache,
  };
}

/** Starts a fresh shop and times a cold then a warm request for each of `products` pages. */
export async function benchTtfb(options: { products?: number } = {}): Promise<TtfbResult> {
  const count = options.products ?? 50;
  const shop = await startShop();
  try {
    // One extra product absorbs the first-request costs (lazy imports, JIT) of the page route.
    const [first, ...slugs] = await productSlugs(shop.url, count + 1);
    if (slugs.length < count) throw new RangeError(`Only ${slugs.length} products to request`);
    const firstRequest = await timeToHeaders(`${shop.url}/p/${first}`);
    const cold = [];
    const warm = [];
    for (const slug of slugs) {
      cold.push(await timeToHeaders(`${shop.url}/p/${slug}`));
      warm.push(await timeToHeaders(`${shop.url}/p/${slug}`));
    }
    return {
      products: count,
      firstRequestMs: firstRequest.ms,
      cold: stats(cold),
      warm: stats(warm),
    };
  } finally {
    await shop.stop();
  }
}

/** The result as the lines the CLI prints. */
export function formatTtfb(result: TtfbResult): string {
  const row = (name: string, s: TtfbStats) =>
    `  ${name.padEnd(5)} p50 ${s.p50Ms.toFixed(2).padStart(7)} ms   p95 ${
      s.p95Ms.toFixed(2).padStart(7)
    } ms   max ${s.maxMs.toFixed(2).padStart(7)} ms   X-Cache ${
      Object.entries(s.xCache).map(([k, v]) => `${k}×${v}`).join(" ")
    }`;
  return [
    `product page TTFB over ${result.products} products, fresh process ` +
    `(first page after start: ${result.firstRequestMs.toFixed(1)} ms, not counted)`,
    row("cold", result.cold),
    row("warm", result.warm),
    `  cold/warm p50 ${(result.cold.p50Ms / result.warm.p50Ms).toFixed(1)}×`,
  ].join("\n");
}

if (import.meta.main) {
  const index = Deno.args.indexOf("--products");
  const products = index >= 0 ? Number(Deno.args[index + 1]) : undefined;
  console.log(formatTtfb(await benchTtfb({ products })));
}
