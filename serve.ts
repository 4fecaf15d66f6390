/**
 * The shop as a `deno serve` module: `deno serve --parallel serve.ts` runs one worker per core
 * (DENO_JOBS to choose), each opening its own services at start-up (top-level await, so a bad
 * setting fails before the first request) and serving the same app as main.ts.
 *
 * Why not main.ts itself: `import.meta.main` is true under both `deno run` and `deno serve`,
 * and Deno offers no way to tell them apart (denoland/deno#25179), so a main.ts that serves
 * itself under `deno run` would serve twice under `deno serve`; and `deno run` warns about a
 * main module with `export default { fetch }`.
 *
 * Workers share nothing in memory: like separate nodes, they agree through the database, Redis
 * (cache invalidation, denylist, rate limits) and KV. Without Redis, cache invalidations stay
 * inside the worker that made them, so run `--parallel` with UPSTASH_* set.
 *
 * Every response names the worker that made it in `X-Served-By` (its instance id, as /healthz
 * does): connections are spread over workers by the kernel, so this is how a client, a load
 * balancer's log or a test tells them apart.
 *
 * The listener is deno serve's: `--port`/`--host` (default 0.0.0.0:8000); PORT and HOSTNAME
 * are not used. On SIGTERM/SIGINT deno serve stops accepting and drains; this module closes the
 * services once the requests in flight have finished (or SHUTDOWN_DEADLINE_MS passed).
 */
import { closeServices, openShop } from "./main.ts";

const { config, logger, services, handler } = await openShop();

if (!services.redis) {
  logger.warn("no UPSTASH_* settings: cache invalidations do not reach other workers");
}

let inFlight = 0;
let drained: (() => void) | undefined;

async function fetch(request: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  inFlight++;
  try {
    // deno serve listens on TCP here (a unix socket address has no remote IP to rate-limit).
    const response = await handler(request, info as Deno.ServeHandlerInfo<Deno.NetAddr>);
    try {
      response.headers.set("x-served-by", services.instance);
    } catch {
      // Response.redirect() and Response.error() have immutable headers; they go out unnamed.
    }
    return response;
  } finally {
    if (--inFlight === 0) drained?.();
  }
}

async function shutdown(signal: string): Promise<void> {
  logger.info("shutting down", { reason: signal, inFlight });
  if (inFlight > 0) {
    const finished = new Promise<void>((resolve) => (drained = resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, config.http.shutdownDeadlineMs);
    });
    await Promise.race([finished, deadline]);
    clearTimeout(timer);
  }
  await closeServices(services);
  logger.info("stopped", { instance: services.instance });
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void shutdown(signal));
}
logger.info("serving", { mode: config.mode, instance: services.instance });

export default { fetch } satisfies Deno.ServeDefaultExport;
