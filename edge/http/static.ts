/**
 * Static files (`static/`): hono's serve-static core with our own file access, so an error is one
 * JSON log line through the logger, naming the file relative to the static root, never the
 * absolute path, and never a plain-text line a client could shape (request paths are decoded,
 * so they can carry newlines and NUL bytes).
 */
import { serveStatic } from "hono/serve-static";
import { join } from "node:path";
import type { Logger } from "../platform/log.ts";

/** Characters no file of ours has in its name; such a request is a 404 before any file access. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Longest relative path a log line quotes. */
const LOGGED_PATH_MAX = 200;

/**
 * Serves files under `root`; `rewriteRequestPath` maps the URL path onto it. With `precompressed`,
 * a `.br`/`.gz` twin is served when the client accepts that encoding.
 */
export function serveStaticFiles(options: {
  root: string;
  logger: Logger;
  rewriteRequestPath?: (path: string) => string;
  precompressed?: boolean;
}) {
  const { root, logger } = options;
  return serveStatic({
    root,
    join,
    rewriteRequestPath: options.rewriteRequestPath,
    precompressed: options.precompressed,
    isDir: async (path) => {
      if (CONTROL_CHARACTERS.test(path)) return false;
      try {
        return (await Deno.lstat(path)).isDirectory;
      } catch {
        return false;
      }
    },
    getContent: async (path) => {
      if (CONTROL_CHARACTERS.test(path)) return null;
      try {
        return (await Deno.open(path)).readable;
      } catch (error) {
        // A path that names no file is the client's business: a 404, not a log line.
        if (namesNoFile(error)) return null;
        logger.warn("static file unreadable", {
          path: path.startsWith(root) ? path.slice(root.length).slice(0, LOGGED_PATH_MAX) : "?",
          errorName: error instanceof Error ? error.name : typeof error,
        });
        return null;
      }
    },
  });
}

/** Errors that only say the path names no file (missing, under a file, or too long). */
function namesNoFile(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
    (error as { code?: unknown } | null)?.code === "ENAMETOOLONG";
}
