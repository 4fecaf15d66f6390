import type { z } from "zod";
import { InvalidParameterError } from "./errors.ts";

/** Parses `input` with `schema`, turning the first issue into an `InvalidParameterError`. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join(".") || "body";
  throw new InvalidParameterError(field, `${field} ${issue.message}`);
}
