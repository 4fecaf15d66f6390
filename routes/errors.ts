import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { StockBelowReservedError, UnknownVariantError } from "../db/admin_products.ts";
import { InvalidCursorError } from "../db/catalog.ts";
import { DatabaseUnavailableError } from "../db/client.ts";
import { RefreshTokenInvalidError, RefreshTokenReusedError } from "../db/refresh_tokens.ts";
import { InvalidCredentialsError } from "../edge/auth/auth.ts";
import { PasswordHasherBusyError } from "../edge/auth/passwords.ts";
import { RateLimitedError } from "../edge/auth/rate_limit.ts";
import { renderToString } from "preact-render-to-string";
import { requestIdOf, SECURITY_HEADERS } from "../edge/http/middleware.ts";
import { errorFields, type Logger } from "../edge/platform/log.ts";
import { ErrorPage } from "./ui/pages.tsx";
import { renderPage } from "./ui/render.tsx";

/** A query or body field failed validation; answered as 400 naming the field. */
export class InvalidParameterError extends Error {
  override name = "InvalidParameterError";
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** API clients get JSON; everyone else gets a page. */
export function wantsJson(c: Context): boolean {
  return c.req.path.startsWith("/api/") || c.req.path.startsWith("/.well-known/");
}

/** The JSON error envelope used by every API error. */
export function jsonError(
  c: Context,
  status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 422 | 429 | 500 | 503 | 504,
  error: { code: string; message: string; field?: string; requestId?: string },
): Response {
  return c.json({ error }, status);
}

/** Maps anything thrown by a handler to a response; the one place errors become statuses. */
export function handleError(error: unknown, c: Context, logger: Logger): Response {
  const unavailable = findCause(error, DatabaseUnavailableError);
  if (unavailable) {
    c.header("Retry-After", String(unavailable.retryAfterSeconds));
    const message = "The shop cannot take changes right now; please retry shortly";
    return wantsJson(c)
      ? jsonError(c, 503, { code: "unavailable", message })
      : renderPage(c, ErrorPage({ status: 503, message }), 503);
  }
  if (error instanceof InvalidParameterError || error instanceof InvalidCursorError) {
    const field = error instanceof InvalidParameterError ? error.field : "cursor";
    return wantsJson(c)
      ? jsonError(c, 400, { code: "invalid_parameter", field, message: error.message })
      : renderPage(
        c,
        ErrorPage({ status: 400, message: `Invalid ${field}: ${error.message}` }),
        400,
      );
  }
  if (error instanceof UnknownVariantError || error instanceof StockBelowReservedError) {
    const status = error instanceof UnknownVariantError ? 400 : 409;
    return jsonError(c, status, {
      code: status === 400 ? "invalid_parameter" : "conflict",
      field: "variants",
      message: error.message,
    });
  }
  if (error instanceof Deno.errors.NotFound) {
    return wantsJson(c)
      ? jsonError(c, 404, { code: "not_found", message: error.message })
      : renderPage(c, ErrorPage({ status: 404, message: "We couldn't find that page." }), 404);
  }
  if (
    error instanceof InvalidCredentialsError || error instanceof RefreshTokenInvalidError ||
    error instanceof RefreshTokenReusedError
  ) {
    // One message for every credential failure: nothing tells which part was wrong.
    const message = error instanceof InvalidCredentialsError
      ? error.message
      : "Sign in again to continue";
    return wantsJson(c)
      ? jsonError(c, 401, { code: "invalid_credentials", message })
      : renderPage(c, ErrorPage({ status: 401, message }), 401);
  }
  if (error instanceof RateLimitedError) {
    const { limit, remaining, reset } = error.result;
    c.header("RateLimit-Limit", String(limit));
    c.header("RateLimit-Remaining", String(remaining));
    c.header("RateLimit-Reset", String(Math.max(0, Math.ceil((reset - Date.now()) / 1000))));
    c.header("Retry-After", String(error.retryAfterSeconds));
    const message = "Too many attempts, try again later";
    return wantsJson(c)
      ? jsonError(c, 429, { code: "rate_limited", message })
      : renderPage(c, ErrorPage({ status: 429, message }), 429);
  }
  if (error instanceof PasswordHasherBusyError) {
    c.header("Retry-After", String(error.retryAfterSeconds));
    const message = "We are very busy, try again shortly";
    return wantsJson(c)
      ? jsonError(c, 503, { code: "unavailable", message })
      : renderPage(c, ErrorPage({ status: 503, message }), 503);
  }
  if (error instanceof HTTPException && error.status < 500) {
    const message = error.message || statusText(error.status);
    return wantsJson(c)
      ? jsonError(c, error.status as 400, { code: codeFor(error.status), message })
      : renderPage(c, ErrorPage({ status: error.status, message }), error.status);
  }
  const requestId = requestIdOf(c);
  c.header("X-Request-Id", requestId);
  const status = error instanceof HTTPException ? error.status : 500;
  logger.error("request failed", {
    requestId,
    method: c.req.method,
    path: c.req.path,
    status,
    ...errorFields(error),
  });
  const message = status === 504 ? "The request took too long" : "Something went wrong on our side";
  return wantsJson(c)
    ? jsonError(c, status as 500, { code: codeFor(status), message, requestId })
    : renderPage(c, ErrorPage({ status, message, requestId }), status);
}

/** The answer to a request that ran past its deadline (built outside any Hono context). */
export function timeoutResponse(request: Request): Response {
  const path = new URL(request.url).pathname;
  const message = "The request took too long";
  const headers = new Headers([...SECURITY_HEADERS]);
  headers.set("cache-control", "no-store");
  if (path.startsWith("/api/") || path.startsWith("/.well-known/")) {
    headers.set("content-type", "application/json");
    return new Response(JSON.stringify({ error: { code: "timeout", message } }), {
      status: 504,
      headers,
    });
  }
  headers.set("content-type", "text/html; charset=UTF-8");
  return new Response("<!doctype html>" + renderToString(ErrorPage({ status: 504, message })), {
    status: 504,
    headers,
  });
}

/** Unknown routes: a JSON 404 for the API, a friendly page otherwise. */
export function handleNotFound(c: Context): Response {
  return wantsJson(c)
    ? jsonError(c, 404, {
      code: "not_found",
      message: `No route for ${c.req.method} ${c.req.path}`,
    })
    : renderPage(c, ErrorPage({ status: 404, message: "We couldn't find that page." }), 404);
}

function codeFor(status: number): string {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 413:
      return "payload_too_large";
    case 429:
      return "rate_limited";
    case 503:
      return "unavailable";
    case 504:
      return "timeout";
    default:
      return status >= 500 ? "internal_error" : "bad_request";
  }
}

function statusText(status: number): string {
  return codeFor(status).replace(/_/g, " ");
}

/** Finds an error of `type` in `error` or its `cause` chain (drizzle wraps driver errors). */
function findCause<T extends Error>(
  error: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof type) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
