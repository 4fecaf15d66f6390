/**
 * Header-read and idle timeouts and a connection cap for `Deno.serve`, which has none: Deno
 * keeps a connection that sends nothing, half a request head, or one header line a second open
 * for as long as the client likes, and it accepts connections until the process runs out of
 * file descriptors — at which point its accept loop stops for good and every open connection is
 * dropped (measured on Deno 2.9.6, BENCHMARKS.md "Connections").
 *
 * The guard sweeps the process's own descriptors (getsockname/getpeername through FFI) every
 * `sweepEveryMs`, matches each connection on the shop's port with what the handler saw on it,
 * and shuts down (shutdown(2); Deno then closes it as if the client had left) every connection
 * that
 * - has sent no complete request head within `headerTimeoutMs` of being first seen,
 * - has been idle longer than `idleTimeoutMs` after its last response (a response still being
 *   delivered to a slow reader gets another `drainTimeoutMs`),
 * - or is one too many: above `maxConnections`, idle connections go first, longest idle first.
 *
 * A connection's first request arriving while the shop is above the cap is answered at once by
 * `onOverCapacity` (a 503 with `Connection: close`). Sweeping costs about 1–2 µs per open
 * descriptor and yields to requests every 1,024 descriptors.
 */
import type { Libc } from "./libc.ts";
import type { Logger } from "./log.ts";

export interface ConnectionGuardOptions {
  /** The port the shop listens on: only connections to it are judged. */
  port: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** Extra time a response still in the send queue may take after the handler returned. */
  drainTimeoutMs: number;
  maxConnections: number;
  /** Default: a fifth of the shorter timeout, within 100–2,000 ms. */
  sweepEveryMs?: number;
  libc: Libc;
  logger: Logger;
}

/** Why the guard ended connections, and what it sees now. */
export interface ConnectionGuardStats {
  open: number;
  closedHeaderTimeout: number;
  closedIdleTimeout: number;
  closedOverCapacity: number;
  /** First requests answered 503 because the shop was above `maxConnections`. */
  refusedOverCapacity: number;
  sweeps: number;
  lastSweepMs: number;
}

/** What the guard knows about one connection, keyed by its peer `host:port`. */
interface Connection {
  firstSeen: number;
  requests: number;
  inFlight: number;
  /** When its last response left the handler. */
  lastDone: number;
  /** The sweep that last found it open. */
  seenInSweep: number;
  fd: number;
}

type Handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>;

export interface ConnectionGuard {
  /** Wraps the server's handler so requests are tracked per connection. */
  wrap(handler: Handler, onOverCapacity: (request: Request) => Response): Handler;
  /** One full sweep now (the timer runs them on its own; tests call this). */
  sweep(): Promise<void>;
  stats(): ConnectionGuardStats;
  /** Stops the sweep timer. */
  close(): void;
}

const CHUNK = 1024;

/** Starts sweeping every `sweepEveryMs`; see the module note for the rules. */
export function createConnectionGuard(options: ConnectionGuardOptions): ConnectionGuard {
  const { libc, port, headerTimeoutMs, idleTimeoutMs, drainTimeoutMs, maxConnections } = options;
  const sweepEveryMs = options.sweepEveryMs ??
    Math.max(100, Math.min(2000, Math.min(headerTimeoutMs, idleTimeoutMs) / 5));
  const connections = new Map<string, Connection>();
  const stats: ConnectionGuardStats = {
    open: 0,
    closedHeaderTimeout: 0,
    closedIdleTimeout: 0,
    closedOverCapacity: 0,
    refusedOverCapacity: 0,
    sweeps: 0,
    lastSweepMs: 0,
  };
  let sweepNumber = 0;
  let running: Promise<void> | undefined;

  function track(key: string, now: number): Connection {
    let connection = connections.get(key);
    if (!connection) {
      connection = {
        firstSeen: now,
        requests: 0,
        inFlight: 0,
        lastDone: 0,
        seenInSweep: 0,
        fd: -1,
      };
      connections.set(key, connection);
      stats.open++;
    }
    return connection;
  }

  /** Shuts `fd` down if it still is the connection `key` (descriptors are reused). */
  function end(fd: number, key: string): boolean {
    if (fd < 0 || libc.localPort(fd) !== port || libc.peerOf(fd) !== key) return false;
    return libc.shutdown(fd);
  }

  function verdict(connection: Connection, fd: number, now: number) {
    if (connection.inFlight > 0) return undefined;
    if (connection.requests === 0) {
      return now - connection.firstSeen > headerTimeoutMs ? "header" : undefined;
    }
    const idleMs = now - connection.lastDone;
    if (idleMs <= idleTimeoutMs) return undefined;
    // A response still on its way to a slow reader is not idleness, for a while.
    if (idleMs <= idleTimeoutMs + drainTimeoutMs && libc.unsentBytes(fd) > 0) return undefined;
    return "idle";
  }

  async function sweepOnce(): Promise<void> {
    const started = performance.now();
    const number = ++sweepNumber;
    const idle: Array<[string, Connection]> = [];
    let open = 0;
    const size = libc.descriptorTableSize();
    for (let fd = 3; fd < size; fd++) {
      if (fd % CHUNK === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      if (libc.localPort(fd) !== port) continue;
      const key = libc.peerOf(fd);
      if (key === undefined) continue; // the listening socket itself
      const now = performance.now();
      const connection = track(key, now);
      connection.seenInSweep = number;
      connection.fd = fd;
      const reason = verdict(connection, fd, now);
      if (reason && end(fd, key)) {
        if (reason === "header") stats.closedHeaderTimeout++;
        else stats.closedIdleTimeout++;
        connections.delete(key);
        continue;
      }
      open++;
      if (connection.inFlight === 0) idle.push([key, connection]);
    }
    for (const [key, connection] of connections) {
      if (connection.seenInSweep !== number && connection.inFlight === 0) connections.delete(key);
    }
    if (open > maxConnections) {
      // Longest idle first; connections that never sent a request count from when first seen.
      const since = (c: Connection) => c.requests === 0 ? c.firstSeen : c.lastDone;
      idle.sort(([, a], [, b]) => since(a) - since(b));
      for (const [key, connection] of idle) {
        if (open <= maxConnections) break;
        if (!end(connection.fd, key)) continue;
        connections.delete(key);
        stats.closedOverCapacity++;
        open--;
      }
    }
    stats.open = open;
    stats.sweeps++;
    stats.lastSweepMs = performance.now() - started;
  }

  function sweep(): Promise<void> {
    running ??= sweepOnce().catch((error) => {
      options.logger.error("connection sweep failed", { error: String(error) });
    }).finally(() => running = undefined);
    return running;
  }

  const timer = setInterval(sweep, sweepEveryMs);
  Deno.unrefTimer(timer);

  return {
    wrap(handler, onOverCapacity) {
      return async (request, info) => {
        const { hostname, port: peerPort } = info.remoteAddr;
        const now = performance.now();
        const connection = track(`${hostname}:${peerPort}`, now);
        if (connection.requests === 0 && stats.open > maxConnections) {
          stats.refusedOverCapacity++;
          connection.requests++;
          connection.lastDone = now;
          return onOverCapacity(request);
        }
        connection.requests++;
        connection.inFlight++;
        try {
          return await handler(request, info);
        } finally {
          connection.inFlight--;
          connection.lastDone = performance.now();
        }
      };
    },
    sweep,
    stats: () => ({ ...stats }),
    close: () => clearInterval(timer),
  };
}
