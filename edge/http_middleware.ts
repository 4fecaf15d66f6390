/**
 * The global middleware every request passes through, kept to two cheap layers because the
 * cached catalog path runs at tens of thousands of requests per second per core: each generic
 * layer (a timer per request, headers re-set on every response) was measured to cost 20–45% of
 * that throughput (BENCHMARKS.md).
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { Logger } from "./log.ts";

/**
 * Security headers for every response, computed once. Responses built by the edge cache include
 * them at construction; `securityHeaders()` adds them to every other response.
 *
 * Deliberately short: building a Response costs about a microsecond per header in Deno, which
 * on the cached path is most of the request. The CSP's `frame-ancestors` replaces
 * X-Frame-Options; headers only legacy browsers read (X-XSS-Protection, X-Download-Options,
 * Flash policies) protect no current browser and are left out.
 */
export const SECURITY_HEADERS: readonly [string, string][] = [
  [
    "content-security-policy",
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  ],
  ["strict-transport-security", "max-age=15552000; includeSubDomains"],
  ["x-content-type-options", "nosniff"],
  ["referrer-policy", "strict-origin-when-cross-origin"],
];

/** Adds `SECURITY_HEADERS` to responses that do not carry them yet. */
export function securityHeaders() {
  return createMiddleware(async (c, next) => {
    await next();
    const headers = c.res.headers;
    if (headers.has("x-content-type-options")) return;
    for (const [name, value] of SECURITY_HEADERS) headers.set(name, value);
  });
}

/**
 * Bounds every request to `timeoutMs` (answered 504) and logs slow requests.
 *
 * One shared sweep timer checks deadlines a few times a second instead of arming a timer per
 * request, so a deadline fires up to `timeoutMs / 8` (at most 250 ms) late. Per-request log
 * lines appear only at debug level; requests slower than `slowMs` are logged at warn.
 */
export function requestDeadline(options: { timeoutMs: number; slowMs?: number; logger: Logger }) {
  const { timeoutMs, logger } = options;
  const slowMs = options.slowMs ?? 1000;
  const sweepEveryMs = Math.max(10, Math.min(250, timeoutMs / 8));
  const waiting = new Set<{ deadline: number; expire: (error: Error) => void }>();
  let sweeper: ReturnType<typeof setInterval> | undefined;

  function sweep() {
    const now = performance.now();
    for (const request of waiting) {
      if (request.deadline > now) continue;
      waiting.delete(request);
      request.expire(new HTTPException(504, { message: "The request took too long" }));
    }
    if (waiting.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }

  return createMiddleware(async (c, next) => {
    const started = performance.now();
    const { promise: expired, reject: expire } = Promise.withResolvers<never>();
    const request = { deadline: started + timeoutMs, expire };
    waiting.add(request);
    // Runs only while requests are in flight, so an idle process is free to exit.
    sweeper ??= setInterval(sweep, sweepEveryMs);
    try {
      await Promise.race([next(), expired]);
    } finally {
      waiting.delete(request);
      const ms = Math.round(performance.now() - started);
      if (ms > slowMs || logger.enabled("debug")) {
        logger[ms > slowMs ? "warn" : "debug"]("request", {
          requestId: requestIdOf(c),
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms,
        });
      }
    }
  });
}

declare module "hono" {
  interface ContextVariableMap {
    requestId?: string;
  }
}

const REQUEST_ID = /^[\w\-.:]{1,128}$/;

/**
 * The request's id: the caller's `X-Request-Id` when it looks sane, else a new UUID, made only
 * when something needs it (an error answer, a log line) rather than on every request.
 */
export function requestIdOf(c: Context): string {
  let id = c.get("requestId");
  if (id === undefined) {
    const incoming = c.req.header("x-request-id");
    id = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
  }
  return id;
}
