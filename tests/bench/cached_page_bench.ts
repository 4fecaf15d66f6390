/**
 * Warm cached product page vs a bare `Deno.serve` hello world, both under
 * `wrk -t2 -c256 -d10s --latency`, in the same run. Not part of `deno task test`:
 *
 *   deno run --allow-all tests/bench/cached_page_bench.ts
 */

const WRK_ARGS = ["-t2", "-c256", "-d10s", "--latency"];
const ROOT = new URL("../../", import.meta.url).pathname;

interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number;
  errors: string;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!match) return NaN;
  const n = Number(match[1]);
  return match[2] === "us" ? n / 1000 : match[2] === "s" ? n * 1000 : n;
}

async function wrk(url: string): Promise<WrkResult> {
  const output = await new Deno.Command("wrk", { args: [...WRK_ARGS, url], stdout: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p99 = toMs(/\s99%\s+(\S+)/.exec(text)?.[1] ?? "");
  const errors = /Socket errors:.*|Non-2xx.*/g.exec(text)?.[0] ?? "none";
  return { requestsPerSecond: rps, p99Ms: p99, errors };
}

async function waitFor(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

function spawn(args: string[], env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args,
    env,
    cwd: ROOT,
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  await child.status;
}

const dataDir = await Deno.makeTempDir({ prefix: "bench-cached-page-" });
const helloPort = freePort();
const shopPort = freePort();
const hello = spawn([
  "eval",
  `Deno.serve({ port: ${helloPort}, hostname: "127.0.0.1", onListen() {} }, () => new Response("Hello, world"));`,
], {});
const shop = spawn(
  ["run", "--unstable-kv", "--allow-all", "main.ts"],
  { PORT: String(shopPort), HOSTNAME: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "warn" },
);
try {
  await waitFor(`http://127.0.0.1:${helloPort}/`);
  await waitFor(`http://127.0.0.1:${shopPort}/healthz`);
  const listing = await (await fetch(`http://127.0.0.1:${shopPort}/api/products?limit=1`)).json();
  const pageUrl = `http://127.0.0.1:${shopPort}/p/${listing.items[0].slug}`;
  const warm = await fetch(pageUrl);
  const bytes = (await warm.arrayBuffer()).byteLength;
  const again = await fetch(pageUrl);
  await again.body?.cancel();
  console.log(`warm page ${pageUrl}: ${bytes} bytes, X-Cache ${again.headers.get("x-cache")}`);

  const base = await wrk(`http://127.0.0.1:${helloPort}/`);
  const page = await wrk(pageUrl);
  const ratio = page.requestsPerSecond / base.requestsPerSecond;
  const row = (name: string, r: WrkResult) =>
    `${name.padEnd(26)} ${r.requestsPerSecond.toFixed(0).padStart(9)} req/s   p99 ${
      r.p99Ms.toFixed(2).padStart(8)
    } ms   errors: ${r.errors}`;
  console.log(`wrk ${WRK_ARGS.join(" ")}`);
  console.log(row("hello world (Deno.serve)", base));
  console.log(row("cached product page", page));
  console.log(`ratio ${ratio.toFixed(2)} (goal >= 0.40)`);
} finally {
  await stop(hello);
  await stop(shop);
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
