import { type ConnectionGuard, createConnectionGuard } from "./connection_guard.ts";
import { type Libc, openLibc, readFileLimitFromProc } from "./libc.ts";
import type { Logger } from "./log.ts";
import { withTimeout } from "./timeout.ts";

/** Limits on client connections (see connection_guard.ts). */
export interface ConnectionLimits {
  maxConnections: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** How long a response may still be delivered after its handler returned (slow readers). */
  drainTimeoutMs: number;
  /** Descriptors kept for everything but client connections (files, database, KV, Redis). */
  reservedDescriptors?: number;
}

export interface ServeOptions {
  port: number;
  hostname: string;
  /** How long in-flight requests may run after shutdown begins. */
  shutdownDeadlineMs: number;
  logger: Logger;
  /** Runs once the listener has drained (or the deadline passed): close clients here. */
  onClosed?: () => void | Promise<void>;
  /** Listen backlog: connections the kernel queues until they are accepted (capped by somaxconn). */
  tcpBacklog?: number;
  /** Timeouts and a cap for client connections; without them Deno keeps every connection open. */
  connections?: ConnectionLimits & {
    /** The answer to a first request on a connection above the cap (a 503). */
    onOverCapacity: (request: Request) => Response;
  };
  /** libc for the connection guard and the file limit; default `openLibc()`. */
  libc?: Libc;
}

export interface RunningServer {
  /** The bound address (useful with port 0). */
  addr: Deno.NetAddr;
  /** Stops accepting, lets in-flight requests finish up to the deadline, then closes clients. */
  shutdown(reason: string): Promise<void>;
  /** Resolves when the server has fully shut down. */
  finished: Promise<void>;
  /** The connection guard, when the limits apply (metrics read its counters). */
  guard?: ConnectionGuard;
  /** Client connections allowed after the file-descriptor limit was checked. */
  maxConnections?: number;
}

type Handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>;

/** How long to wait before listening again after Deno's accept loop died. */
const RELISTEN_DELAY_MS = 1000;

/**
 * Serves `handler` with graceful shutdown: new connections are refused at once, requests
 * already running get up to `shutdownDeadlineMs` to finish (their answers say
 * `Connection: close`), then clients are closed. With `connections`, idle, half-sent and surplus
 * connections are closed by the connection guard, and the open-file limit is raised to fit
 * them. Should Deno's accept loop die anyway (it does on EMFILE), the port is listened on again.
 */
export function serveGracefully(handler: Handler, options: ServeOptions): RunningServer {
  const { logger } = options;
  let draining = false;
  let served: Handler = async (request, info) => {
    const response = await handler(request, info);
    return draining ? withConnectionClose(response) : response;
  };
  const libc = options.libc ?? openLibc();
  let maxConnections: number | undefined;
  if (options.connections) {
    maxConnections = fitFileLimit(options.connections, { libc, logger });
  }

  if (options.tcpBacklog !== undefined) checkBacklog(options.tcpBacklog, logger);
  let server = listen(options.port);
  const addr = server.addr;
  let guard: ConnectionGuard | undefined;
  if (options.connections && maxConnections !== undefined) {
    if (libc) {
      guard = createConnectionGuard({
        ...options.connections,
        maxConnections,
        port: addr.port,
        libc,
        logger,
      });
      served = guard.wrap(served, options.connections.onOverCapacity);
    } else {
      logger.warn(
        "connection timeouts and cap are off: they need Linux and --allow-ffi",
        { os: Deno.build.os },
      );
    }
  }
  let shuttingDown: Promise<void> | undefined;
  const { promise: stopped, resolve: markStopped } = Promise.withResolvers<void>();

  function listen(port: number): Deno.HttpServer<Deno.NetAddr> {
    const next = Deno.serve({
      port,
      hostname: options.hostname,
      tcpBacklog: options.tcpBacklog,
      onListen: () => {},
    }, (request, info) => served(request, info));
    next.finished.then(() => {
      if (!shuttingDown) relisten(new Error("the accept loop ended"));
    }, (error) => {
      if (!shuttingDown) relisten(error);
    });
    return next;
  }

  function relisten(error: unknown): void {
    logger.error("the server stopped accepting connections; listening again", {
      error: error instanceof Error ? error.message : String(error),
      retryInMs: RELISTEN_DELAY_MS,
      guard: guard?.stats(),
    });
    setTimeout(() => {
      if (shuttingDown) return;
      try {
        server = listen(addr.port);
        logger.info("listening again", { port: addr.port });
      } catch (retryError) {
        relisten(retryError);
      }
    }, RELISTEN_DELAY_MS);
  }

  function shutdown(reason: string): Promise<void> {
    shuttingDown ??= (async () => {
      draining = true;
      logger.info("shutting down", { reason, deadlineMs: options.shutdownDeadlineMs });
      const outcome = await withTimeout(server.shutdown(), options.shutdownDeadlineMs, "drain")
        .then(() => "drained" as const, () => "deadline" as const);
      guard?.close();
      if (outcome === "deadline") {
        // The caller exits the process next, which cuts the stragglers off.
        logger.warn("shutdown deadline passed with requests still running");
      }
      await options.onClosed?.();
      logger.info("stopped", { outcome });
      markStopped();
    })();
    return shuttingDown;
  }

  return { addr, shutdown, finished: stopped, guard, maxConnections };
}

/** Warns when the kernel will cap the listen backlog below what was asked for. */
function checkBacklog(backlog: number, logger: Logger): void {
  let somaxconn: number;
  try {
    somaxconn = Number(Deno.readTextFileSync("/proc/sys/net/core/somaxconn"));
  } catch {
    return; // not Linux, or /proc not readable: nothing to compare
  }
  if (somaxconn < backlog) {
    logger.warn(
      `LISTEN_BACKLOG ${backlog} is capped by net.core.somaxconn ${somaxconn}: raise it ` +
        `(sysctl -w net.core.somaxconn=${backlog}) or bursts of new connections may be dropped`,
    );
  }
}

/** `response` with `Connection: close`, so a keep-alive client does not come back. */
function withConnectionClose(response: Response): Response {
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    // Immutable headers (a fetched or redirect response): copy them.
    const headers = new Headers(response.headers);
    headers.set("connection", "close");
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }
}

/**
 * Checks the open-file limit against the connections asked for and answers how many client
 * connections fit: `maxConnections`, or fewer when the limit is too low, said in one warning,
 * because running out of descriptors stops Deno's accept loop. (Deno itself raises the soft
 * limit to the hard one at start-up, so the hard limit is the one that counts.)
 */
export function fitFileLimit(
  limits: Pick<ConnectionLimits, "maxConnections" | "reservedDescriptors">,
  options: { libc?: Libc; logger: Logger },
): number {
  let limit: { soft: number; hard: number };
  try {
    limit = options.libc?.fileLimit() ?? readFileLimitFromProc();
  } catch {
    return limits.maxConnections; // no /proc (not Linux): nothing to check against
  }
  const reserve = limits.reservedDescriptors ?? Math.max(256, Math.ceil(limit.soft / 10));
  const fitting = Math.max(0, limit.soft - reserve);
  if (fitting >= limits.maxConnections) return limits.maxConnections;
  // The smallest limit that leaves maxConnections after its reserve.
  const wanted = limits.reservedDescriptors !== undefined
    ? limits.maxConnections + limits.reservedDescriptors
    : Math.max(limits.maxConnections + 256, Math.ceil(limits.maxConnections / 0.9));
  options.logger.warn(
    `the open-file limit (${limit.soft}) fits only ${fitting} client connections, fewer than ` +
      `MAX_CONNECTIONS ${limits.maxConnections}: connections are capped at ${fitting}; raise ` +
      `it (ulimit -n ${wanted}, or LimitNOFILE=${wanted} under systemd)`,
    { soft: limit.soft, hard: limit.hard, wanted },
  );
  return fitting;
}
