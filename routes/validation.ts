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
