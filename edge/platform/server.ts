import type { Logger } from "./log.ts";
import { withTimeout } from "./timeout.ts";

export interface ServeOptions {
  port: number;
  hostname: string;
  /** How long in-flight requests may run after shutdown begins. */
  shutdownDeadlineMs: number;
  logger: Logger;
  /** Runs once the listener has drained (or the deadline passed): close clients here. */
  onClosed?: () => void | Promise<void>;
}

export interface RunningServer {
  /** The bound address (useful with port 0). */
  addr: Deno.NetAddr;
  /** Stops accepting, lets in-flight requests finish up to the deadline, then closes clients. */
  shutdown(reason: string): Promise<void>;
  /** Resolves when the server has fully shut down. */
  finished: Promise<void>;
}

/**
 * Serves `handler` with graceful shutdown: new connections are refused at once, requests
 * already running get up to `shutdownDeadlineMs` to finish, then clients are closed.
 */
export function serveGracefully(
  handler: Deno.ServeHandler<Deno.NetAddr>,
  options: ServeOptions,
): RunningServer {
  let addr: Deno.NetAddr | undefined;
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    onListen: (bound) => {
      addr = bound;
    },
  }, handler);
  addr ??= server.addr;
  let shuttingDown: Promise<void> | undefined;

  function shutdown(reason: string): Promise<void> {
    shuttingDown ??= (async () => {
      options.logger.info("shutting down", { reason, deadlineMs: options.shutdownDeadlineMs });
      const outcome = await withTimeout(server.shutdown(), options.shutdownDeadlineMs, "drain")
        .then(() => "drained" as const, () => "deadline" as const);
      if (outcome === "deadline") {
        // The caller exits the process next, which cuts the stragglers off.
        options.logger.warn("shutdown deadline passed with requests still running");
      }
      await options.onClosed?.();
      options.logger.info("stopped", { outcome });
    })();
    return shuttingDown;
  }

  return {
    addr: addr!,
    shutdown,
    finished: server.finished.then(() => shuttingDown),
  };
}
