/**
 * Warm cached product page vs a bare `Deno.serve` hello world, both under
 * `wrk -t2 -c256 -d10s --latency`, in the same run. Not part of `deno task test`:
 *
 *   deno run --allow-all tests/bench/cached_page_bench.ts
 *
 * `deno task bench` runs it with the other macro benchmarks (tests/bench/main.ts).
 */
import { freePort, productSlugs, startShop, stopProcess, waitForOk } from "./shop_process.ts";

export interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number;
  /** wrk's "Socket errors" and "Non-2xx" lines, or "none". */
  errors: string;
}

export interface CachedPageResult {
  wrkArgs: string[];
  pageUrl: string;
  pageBytes: number;
  /** X-Cache of the request before wrk starts; L0 means the page is served from memory. */
  xCache: string | null;
  hello: WrkResult;
  page: WrkResult;
  /** Cached page req/s divided by hello-world req/s. */
  ratio: number;
}

export interface CachedPageOptions {
  connections?: number;
  durationSeconds?: number;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!match) return NaN;
  const n = Number(match[1]);
  return match[2] === "us" ? n / 1000 : match[2] === "s" ? n * 1000 : n;
}

/** Runs wrk with `args` against `url` and reads req/s, p99 and errors from its report. */
export async function wrk(args: string[], url: string): Promise<WrkResult> {
  const output = await new Deno.Command("wrk", { args: [...args, url], stdout: "piped" }).output();
  const text = new TextDecoder().decode(output.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p99 = toMs(/\s99%\s+(\S+)/.exec(text)?.[1] ?? "");
  const errors = text.match(/Socket errors:.*|Non-2xx.*/g)?.map((line) => line.trim()).join("; ");
  return { requestsPerSecond: rps, p99Ms: p99, errors: errors || "none" };
}

/** Starts a hello world and a fresh shop, warms one product page, and runs wrk on both. */
export async function benchCachedPage(options: CachedPageOptions = {}): Promise<CachedPageResult> {
  const wrkArgs = [
    "-t2",
    `-c${options.connections ?? 256}`,
    `-d${options.durationSeconds ?? 10}s`,
    "--latency",
  ];
  const helloPort = freePort();
  const hello = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `Deno.serve({ port: ${helloPort}, hostname: "127.0.0.1", onListen() {} }, () => new Response("Hello, world"));`,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let shop: Awaited<ReturnType<typeof startShop>> | undefined;
  try {
    shop = await startShop();
    await waitForOk(`http://127.0.0.1:${helloPort}/`);
    const [slug] = await productSlugs(shop.url, 1);
    const pageUrl = `${shop.url}/p/${slug}`;
    const warm = await fetch(pageUrl);
    const pageBytes = (await warm.arrayBuffer()).byteLength;
    const again = await fetch(pageUrl);
    await again.body?.cancel();
    const helloResult = await wrk(wrkArgs, `http://127.0.0.1:${helloPort}/`);
    const page = await wrk(wrkArgs, pageUrl);
    return {
      wrkArgs,
      pageUrl,
      pageBytes,
      xCache: again.headers.get("x-cache"),
      hello: helloResult,
      page,
      ratio: page.requestsPerSecond / helloResult.requestsPerSecond,
    };
  } finally {
    await stopProcess(hello);
    await shop?.stop();
  }
}

/** The result as the lines the CLI prints. */
export function formatCachedPage(result: CachedPageResult): string {
  const row = (name: string, r: WrkResult) =>
    `${name.padEnd(26)} ${r.requestsPerSecond.toFixed(0).padStart(9)} req/s   p99 ${
      r.p99Ms.toFixed(2).padStart(8)
    } ms   errors: ${r.errors}`;
  return [
    `warm page ${result.pageUrl}: ${result.pageBytes} bytes, X-Cache ${result.xCache}`,
    `wrk ${result.wrkArgs.join(" ")}`,
    row("hello world (Deno.serve)", result.hello),
    row("cached product page", result.page),
    `ratio ${result.ratio.toFixed(2)} (goal >= 0.40)`,
  ].join("\n");
}

if (import.meta.main) console.log(formatCachedPage(await benchCachedPage()));
