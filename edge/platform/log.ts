import type { LogLevel } from "./config.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A structured logger writing one JSON object per line. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

/**
 * Creates a JSON-lines logger that drops anything below `level`.
 *
 * Lines go to `write` (stderr by default) so tests can capture them.
 */
export function createLogger(
  level: LogLevel,
  options: { write?: (line: string) => void; base?: Record<string, unknown> } = {},
): Logger {
  const threshold = RANK[level];
  const encoder = new TextEncoder();
  const write = options.write ?? ((line: string) => Deno.stderr.writeSync(encoder.encode(line)));
  const base = options.base ?? {};
  function log(at: LogLevel, message: string, fields?: Record<string, unknown>) {
    if (RANK[at] < threshold) return;
    write(
      JSON.stringify({
        time: new Date().toISOString(),
        level: at,
        msg: message,
        ...base,
        ...fields,
      }) +
        "\n",
    );
  }
  return {
    debug: (message, fields) => log("debug", message, fields),
    info: (message, fields) => log("info", message, fields),
    warn: (message, fields) => log("warn", message, fields),
    error: (message, fields) => log("error", message, fields),
    enabled: (at) => RANK[at] >= threshold,
  };
}

/** Turns any thrown value into loggable fields, keeping the stack for logs only. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { error: error.message, errorName: error.name, stack: error.stack };
  }
  return { error: String(error) };
}
