/**
 * The one place errors become answers. Every error a request can end with is described once
 * (status, code, message, headers) and then written as JSON for API clients or as a page for
 * browsers, with the same wording and the same headers either way.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { pathForLog, requestIdOf, SECURITY_HEADERS } from "../edge/http/middleware.ts";
import { type ErrorStatus, findAppError } from "../edge/platform/errors.ts";
import { errorFields, type Logger } from "../edge/platform/log.ts";
import type { Department } from "./ui/navigation.ts";
import { ErrorPage } from "./ui/pages.tsx";
import { renderHtml, renderPage } from "./ui/render.tsx";

/** What an error answer says, before it is written as JSON or as a page. */
export interface ErrorDescription {
  status: ErrorStatus;
  code: string;
  message: string;
  field?: string;
  headers: Readonly<Record<string, string>>;
  /** Extra facts for JSON answers (never overriding the fields above). */
  details?: Readonly<Record<string, unknown>>;
  /** Set for internal errors: the reference the shopper can quote. */
  requestId?: string;
}

const INTERNAL_MESSAGE = "Something went wrong on our side";
const TIMEOUT_MESSAGE = "The request took too long";
/** 401s name the scheme that would have worked (RFC 9110 §11.6.1). */
const WWW_AUTHENTICATE = { "WWW-Authenticate": 'Bearer realm="edge-shop"' };

/** API clients get JSON; everyone else gets a page. */
export function wantsJson(c: Context | Request): boolean {
  const path = c instanceof Request ? new URL(c.url).pathname : c.req.path;
  return path.startsWith("/api/") || path.startsWith("/.well-known/");
}

/**
 * Describes an error the client may see: an `AppError` (also inside a `cause` chain) or a 4xx
 * `HTTPException` from middleware. `undefined` means an internal failure.
 */
export function describeClientError(error: unknown): ErrorDescription | undefined {
  const known = findAppError(error);
  if (known) {
    const headers = known.status === 401
      ? { ...WWW_AUTHENTICATE, ...known.headers }
      : known.headers;
    return {
      status: known.status,
      code: known.code,
      message: known.message,
      field: known.field,
      headers,
      details: known.details,
    };
  }
  if (error instanceof HTTPException && error.status < 500) {
    const status = error.status as ErrorStatus;
    return {
      status,
      code: codeFor(status),
      message: error.message || codeFor(status).replace(/_/g, " "),
      headers: status === 401 ? WWW_AUTHENTICATE : {},
    };
  }
  return undefined;
}

/** Maps anything thrown by a handler to a response, logging internal failures with their stack. */
export function handleError(error: unknown, c: Context, logger: Logger): Response {
  const described = describeClientError(error) ?? describeInternalError(error, c, logger);
  for (const [name, value] of Object.entries(described.headers)) c.header(name, value);
  if (wantsJson(c)) {
    const { code, message, field, requestId, details } = described;
    return c.json({ error: { ...details, code, message, field, requestId } }, described.status);
  }
  return renderPage(c, ErrorPage(described), described.status);
}

function describeInternalError(error: unknown, c: Context, logger: Logger): ErrorDescription {
  const requestId = requestIdOf(c);
  const status: ErrorStatus = error instanceof HTTPException && error.status === 504 ? 504 : 500;
  logger.error("request failed", {
    requestId,
    method: c.req.method,
    path: pathForLog(c.req.path),
    status,
    ...errorFields(error),
  });
  return {
    status,
    code: codeFor(status),
    message: status === 504 ? TIMEOUT_MESSAGE : INTERNAL_MESSAGE,
    headers: { "X-Request-Id": requestId },
    requestId,
  };
}

/** The answer to a request that ran past its deadline (built outside any Hono context). */
export function timeoutResponse(request: Request): Response {
  const headers = new Headers([...SECURITY_HEADERS]);
  headers.set("cache-control", "no-store");
  if (wantsJson(request)) {
    headers.set("content-type", "application/json");
    return new Response(
      JSON.stringify({ error: { code: "timeout", message: TIMEOUT_MESSAGE } }),
      { status: 504, headers },
    );
  }
  headers.set("content-type", "text/html; charset=UTF-8");
  return new Response(renderHtml(ErrorPage({ status: 504, message: TIMEOUT_MESSAGE })), {
    status: 504,
    headers,
  });
}

const OVERLOADED_MESSAGE = "We're very busy right now. Please try again in a moment.";
/** Built once: shedding must cost less than serving, so nothing is rendered per refusal. */
const OVERLOADED_BODIES = {
  json: JSON.stringify({ error: { code: "overloaded", message: OVERLOADED_MESSAGE } }),
  html: renderHtml(ErrorPage({ status: 503, message: OVERLOADED_MESSAGE })),
};

/**
 * The answer to a request the shop sheds under load (built outside any Hono context): 503 with
 * `Retry-After`, and `Connection: close` when the connection itself is one too many.
 */
export function overloadedResponse(
  request: Request,
  retryAfterSeconds: number,
  options: { closeConnection?: boolean } = {},
): Response {
  const headers = new Headers(SECURITY_HEADERS as [string, string][]);
  headers.set("cache-control", "no-store");
  headers.set("retry-after", String(retryAfterSeconds));
  if (options.closeConnection) headers.set("connection", "close");
  const json = wantsJson(request);
  headers.set("content-type", json ? "application/json" : "text/html; charset=UTF-8");
  return new Response(json ? OVERLOADED_BODIES.json : OVERLOADED_BODIES.html, {
    status: 503,
    headers,
  });
}

/** Unknown routes: a JSON 404 for the API, a friendly page (with the menu, when given) otherwise. */
export function handleNotFound(c: Context, departments?: Department[]): Response {
  if (wantsJson(c)) {
    return c.json({
      error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}` },
    }, 404);
  }
  return renderPage(
    c,
    ErrorPage({ status: 404, message: "We couldn't find that page.", departments }),
    404,
  );
}

const CODES: Partial<Record<number, string>> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
  503: "unavailable",
  504: "timeout",
};

function codeFor(status: number): string {
  return CODES[status] ?? (status >= 500 ? "internal_error" : "bad_request");
}
