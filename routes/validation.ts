import type { Context } from "hono";
import type { z } from "zod";
import { InvalidParameterError } from "../edge/platform/errors.ts";

/** Parses `input` with `schema`, turning the first issue into an `InvalidParameterError`. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join(".") || "body";
  throw new InvalidParameterError(field, `${field} ${issue.message}`);
}

/**
 * Reads a JSON request body and validates it with `schema`; a body that is not JSON at all is
 * a 400 on the field "body", like any other invalid input.
 */
export async function parseJsonBody<T extends z.ZodType>(
  request: Request,
  schema: T,
): Promise<z.output<T>> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw new InvalidParameterError("body", "body must be a JSON object");
  }
  return parseWith(schema, body);
}

/** What a shopper sees when a form post cannot be read at all (a broken multipart boundary). */
export const UNREADABLE_FORM_MESSAGE = "We couldn't read that form. Please try again.";

/**
 * Reads a url-encoded or multipart form body as its text fields. A body that cannot be parsed
 * (multipart without a usable boundary, a truncated part) is a 400 on the field "body", never a
 * 500: the platform's form parser throws a bare `TypeError` for those.
 */
export async function parseFormBody(c: Context): Promise<Record<string, string>> {
  let form: Record<string, unknown>;
  try {
    form = await c.req.parseBody();
  } catch {
    throw new InvalidParameterError("body", UNREADABLE_FORM_MESSAGE);
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(form)) {
    if (typeof value === "string") fields[name] = value;
  }
  return fields;
}
