/**
 * The one error model: an `AppError` carries the HTTP status it ends a request with, a stable
 * machine-readable code, a message safe to show a shopper, and the headers that go with it (as
 * Hono's `HTTPException` carries its response). routes/errors.ts turns it into JSON or a page,
 * the same way everywhere. Anything else thrown is an internal error: logged with its stack,
 * answered 500 with a request id, never shown.
 */

/** Statuses an `AppError` may carry. */
export type ErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 405
  | 409
  | 413
  | 415
  | 422
  | 429
  | 500
  | 503
  | 504;

export interface AppErrorOptions extends ErrorOptions {
  /** The request field at fault, for 400/422 answers. */
  field?: string;
  /** Headers the answer must carry (`Retry-After`, `WWW-Authenticate`, rate-limit headers). */
  headers?: Record<string, string>;
  /** Extra machine-readable facts for the JSON answer, e.g. the cart lines short of stock. */
  details?: Record<string, unknown>;
}

/** An error a request may end with; its message is shown to the client as is. */
export class AppError extends Error {
  override name = "AppError";
  readonly field?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly details?: Readonly<Record<string, unknown>>;

  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.field = options.field;
    this.headers = options.headers ?? {};
    this.details = options.details;
  }
}

/** A query, path or body field failed validation (400, naming the field). */
export class InvalidParameterError extends AppError {
  override name = "InvalidParameterError";
  constructor(field: string, message: string, options: ErrorOptions = {}) {
    super(400, "invalid_parameter", message, { ...options, field });
  }
}

/** The thing asked for does not exist (404). */
export class NotFoundError extends AppError {
  override name = "NotFoundError";
  constructor(message: string) {
    super(404, "not_found", message);
  }
}

/** A dependency cannot serve right now; the client should retry after `retryAfterSeconds`. */
export class UnavailableError extends AppError {
  override name = "UnavailableError";
  constructor(message: string, readonly retryAfterSeconds: number, options: ErrorOptions = {}) {
    super(503, "unavailable", message, {
      ...options,
      headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

/** Finds the `AppError` in `error` or its `cause` chain (drizzle wraps driver errors). */
export function findAppError(error: unknown): AppError | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof AppError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when `error` is the client's fault (a 4xx `AppError`), not a failure of the shop. */
export function isClientError(error: unknown): boolean {
  const known = findAppError(error);
  return known !== undefined && known.status < 500;
}
