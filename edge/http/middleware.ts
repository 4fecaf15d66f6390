/**
 * What every request passes through: security headers, the request deadline and request ids.
 *
 * Kept lean because the cached catalog path runs at tens of thousands of requests per second
 * per core: each generic layer (a timer per request, headers re-set on every response) costs a
 * visible share of that throughput, so per-request work here is kept to what every request needs.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Logger } from "../platform/log.ts";

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
 * Bounds every request to `timeoutMs` and logs slow requests, around the whole app handler.
 *
 * It wraps `app.fetch` rather than running as Hono middleware: a handler that overruns keeps
 * going after the 504 is sent, and inside Hono it would then write into the same context that
 * already answered (seen under load as "ReadableStream is already locked"). Out here the late
 * response is simply dropped. One shared sweep timer checks deadlines instead of a timer per
 * request, so a deadline fires up to `timeoutMs / 8` (at most 250 ms) late. Per-request log
 * lines appear only at debug level; requests slower than `slowMs` are logged at warn.
 */
export function withDeadline<Info>(
  handler: (request: Request, info: Info) => Response | Promise<Response>,
  options: {
    timeoutMs: number;
    slowMs?: number;
    logger: Logger;
    /** The answer once the deadline passes (JSON for the API, a page otherwise). */
    onTimeout: (request: Request) => Response;
  },
): (request: Request, info: Info) => Promise<Response> {
  const { timeoutMs, logger } = options;
  const slowMs = options.slowMs ?? 1000;
  const sweepEveryMs = Math.max(10, Math.min(250, timeoutMs / 8));
  const waiting = new Set<{ deadline: number; expire: () => void }>();
  let sweeper: ReturnType<typeof setInterval> | undefined;

  function sweep() {
    const now = performance.now();
    for (const request of waiting) {
      if (request.deadline > now) continue;
      waiting.delete(request);
      request.expire();
    }
    if (waiting.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }

  return async (request, info) => {
    const started = performance.now();
    const { promise: expired, resolve: expire } = Promise.withResolvers<void>();
    const pending = { deadline: started + timeoutMs, expire };
    waiting.add(pending);
    // Runs only while requests are in flight, so an idle process is free to exit.
    sweeper ??= setInterval(sweep, sweepEveryMs);
    let response: Response;
    try {
      response = await Promise.race([
        handler(request, info),
        expired.then(() => options.onTimeout(request)),
      ]);
    } finally {
      waiting.delete(pending);
    }
    const ms = Math.round(performance.now() - started);
    if (ms > slowMs || logger.enabled("debug")) {
      logger[ms > slowMs ? "warn" : "debug"]("request", {
        requestId: response.headers.get("x-request-id") ?? undefined,
        method: request.method,
        path: pathForLog(new URL(request.url).pathname),
        status: response.status,
        ms,
      });
    }
    return response;
  };
}

declare module "hono" {
  interface ContextVariableMap {
    requestId?: string;
  }
}

const REQUEST_ID = /^[\w\-.:]{1,128}$/;

/**
 * The request's id: the caller's `X-Request-Id` when it is a plain token (letters, digits,
 * `_-.:`, at most 128), else a new UUID, made only when something needs it (an error answer, a
 * log line) rather than on every request. Every log line and header that carries a request id
 * takes it from here, so a client cannot put newlines, quotes or megabytes into either.
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

/** Longest request path a log line quotes; the rest of a 16 KiB URL says nothing more. */
const LOGGED_PATH_MAX = 200;

/** A request path as log lines quote it: cut to a bounded length (JSON escapes the rest). */
export function pathForLog(path: string): string {
  return path.length > LOGGED_PATH_MAX ? `${path.slice(0, LOGGED_PATH_MAX)}…` : path;
}
