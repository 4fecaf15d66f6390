/**
 * Process helpers shared by the benchmarks: free loopback ports, the shop as a subprocess on a
 * throwaway DATA_DIR, waiting for readiness, and stopping what was started.
 */

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/**
 * Rate limits raised far above what one loopback IP sends in a benchmark; the defaults (10 logins
 * a minute per IP) would turn a load test into a rate-limit test.
 */
export const RAISED_RATE_LIMITS: Readonly<Record<string, string>> = {
  RATE_LIMIT_LOGIN_IP: "100000/60",
  RATE_LIMIT_LOGIN_ACCOUNT_IP: "100000/60",
  RATE_LIMIT_LOGIN_ACCOUNT: "100000/60",
  RATE_LIMIT_REGISTER_IP: "100000/60",
  RATE_LIMIT_REFRESH_IP: "100000/60",
};

/** The `METRICS_TOKEN` of benchmark shops, so probes can scrape `/metrics`. */
export const BENCH_METRICS_TOKEN = "bench-metrics-token-0123456789";

/** The account the load tool's shop scenario logs in with. */
export const LOAD_ACCOUNT = { email: "loadtest@example.com", password: "loadtest-password" };

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Polls `url` until it answers 2xx; throws after `timeoutMs`. */
export async function waitForOk(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`"${url}" did not answer within ${timeoutMs} ms`);
}

/** Sends SIGTERM (if still running) and waits for the exit. */
export async function stopProcess(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  await child.status;
}

/** A shop subprocess on its own port and data dir. */
export interface ShopProcess {
  pid: number;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  dataDir: string;
  /** Stops the process and removes its data dir. */
  stop(): Promise<void>;
}

export interface StartShopOptions {
  /** Extra environment on top of LOG_LEVEL=warn, the metrics token and the raised rate limits. */
  env?: Record<string, string>;
  /** How long seeding plus start-up may take. */
  timeoutMs?: number;
}

/**
 * Starts `main.ts` on a fresh DATA_DIR (so it seeds 10,000 products) and resolves once `/healthz`
 * answers.
 */
export async function startShop(options: StartShopOptions = {}): Promise<ShopProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: "bench-shop-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    // The same V8 flags as `deno task start`.
    args: ["run", "--unstable-kv", "--v8-flags=--max-semi-space-size=8", "--allow-all", "main.ts"],
    cwd: ROOT,
    env: {
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      ...RAISED_RATE_LIMITS,
      ...options.env,
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess(child);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    await Promise.race([
      waitForOk(`${url}/healthz`, options.timeoutMs),
      child.status.then((status) => {
        throw new Error(`The shop exited with code ${status.code} before answering`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid, url, dataDir, stop };
}

/**
 * Registers the load tool's login account; register answers 202 whether or not it exists. A
 * shop shedding load (503 + Retry-After, e.g. on a busy machine) is asked again, for up to 30 s.
 */
export async function registerLoadAccount(shopUrl: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (true) {
    const response = await fetch(`${shopUrl}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(LOAD_ACCOUNT),
    });
    await response.body?.cancel();
    if (response.status === 202) return;
    const retryAfter = Number(response.headers.get("retry-after") ?? 0);
    if (response.status !== 503 || Date.now() > deadline) {
      throw new Error(`Registering "${LOAD_ACCOUNT.email}" answered ${response.status}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(5, retryAfter || 1) * 1000));
  }
}

/** Slugs of the first `count` products of the catalog API. */
export async function productSlugs(shopUrl: string, count: number): Promise<string[]> {
  const response = await fetch(`${shopUrl}/api/products?limit=${count}`);
  if (!response.ok) throw new Error(`/api/products answered ${response.status}`);
  const listing = await response.json() as { items: Array<{ slug: string }> };
  return listing.items.map((item) => item.slug);
}
