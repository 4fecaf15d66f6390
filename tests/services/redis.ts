/**
 * Test infrastructure for Redis: a launcher for a throwaway `redis-server` on a free loopback
 * port, and a small RESP2 client (binary-safe replies, pipelining, a bounded connection pool,
 * a timeout on every call) that the Upstash gateway and the launcher's readiness check share.
 *
 * @module
 */

/** A RESP2 reply: simple string, bulk string (bytes), integer, nil, array or error. */
export type RespValue =
  | RespSimpleString
  | Uint8Array
  | number
  | null
  | RespValue[]
  | RedisReplyError;

/** A RESP simple string (`+OK`), kept apart from bulk strings because Upstash encodes them differently. */
export class RespSimpleString {
  constructor(readonly value: string) {}
}

/** An error reply from Redis (`-ERR ...`); returned as a value because pipelines mix them with results. */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

/** Redis could not be reached, the connection broke, or a call timed out. */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}

/** One argument of a Redis command: text is sent as UTF-8, bytes as they are. */
export type RespArgument = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;
const INCOMPLETE = Symbol("incomplete");

function encodeCommand(args: readonly RespArgument[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? encoder.encode(arg) : arg;
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode("\r\n"));
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Parses one reply at `pos`; returns the value and the position after it, or INCOMPLETE. */
function parseReply(buf: Uint8Array, pos: number): [RespValue, number] | typeof INCOMPLETE {
  const lineEnd = buf.indexOf(CR, pos);
  if (lineEnd === -1 || lineEnd + 1 >= buf.length) return INCOMPLETE;
  const type = buf[pos];
  const line = decoder.decode(buf.subarray(pos + 1, lineEnd));
  const next = lineEnd + 2;
  switch (type) {
    case 0x2b: // '+'
      return [new RespSimpleString(line), next];
    case 0x2d: // '-'
      return [new RedisReplyError(line), next];
    case 0x3a: // ':'
      return [Number(line), next];
    case 0x24: { // '$'
      const length = Number(line);
      if (length < 0) return [null, next];
      if (next + length + 2 > buf.length) return INCOMPLETE;
      return [buf.slice(next, next + length), next + length + 2];
    }
    case 0x2a: { // '*'
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: RespValue[] = [];
      let cursor = next;
      for (let i = 0; i < count; i++) {
        const parsed = parseReply(buf, cursor);
        if (parsed === INCOMPLETE) return INCOMPLETE;
        items.push(parsed[0]);
        cursor = parsed[1];
      }
      return [items, cursor];
    }
    default:
      throw new RedisUnavailableError(`Unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

interface Pending {
  resolve(value: RespValue): void;
  reject(error: Error): void;
}

/** Options for {@linkcode RedisConnection.open}. */
export interface RedisConnectionOptions {
  /** Loopback host; defaults to `127.0.0.1`. */
  hostname?: string;
  /** Upper bound for connecting and for each `send`, in milliseconds; defaults to 2000. */
  timeoutMs?: number;
}

/** One RESP2 connection; replies are matched to commands in order (pipelining). */
export class RedisConnection {
  #conn: Deno.TcpConn;
  #pending: Pending[] = [];
  #buffer: Uint8Array = new Uint8Array(0);
  #closed = false;
  #readLoop: Promise<void>;
  readonly timeoutMs: number;

  private constructor(conn: Deno.TcpConn, timeoutMs: number) {
    this.#conn = conn;
    this.timeoutMs = timeoutMs;
    this.#readLoop = this.#read();
  }

  /** Connects to Redis on `port`, failing within the timeout. */
  static async open(port: number, options: RedisConnectionOptions = {}): Promise<RedisConnection> {
    const timeoutMs = options.timeoutMs ?? 2000;
    const connecting = Deno.connect({ hostname: options.hostname ?? "127.0.0.1", port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisUnavailableError(`Connecting to Redis on port ${port} timed out`)),
        timeoutMs,
      );
    });
    try {
      const conn = await Promise.race([connecting, timeout]);
      conn.setNoDelay(true);
      return new RedisConnection(conn, timeoutMs);
    } catch (error) {
      // A connect that finishes after the timeout must not leak its socket.
      connecting.then((conn) => conn.close(), () => {});
      if (error instanceof RedisUnavailableError) throw error;
      throw new RedisUnavailableError(`Cannot connect to Redis on port ${port}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the connection can still be used. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends all commands in one write and resolves with one reply per command. Error replies are
   * values; a broken connection or the timeout rejects with {@linkcode RedisUnavailableError}
   * and closes the connection (its reply stream can no longer be trusted).
   */
  async send(commands: readonly (readonly RespArgument[])[]): Promise<RespValue[]> {
    if (this.#closed) throw new RedisUnavailableError("Redis connection is closed");
    const replies = commands.map(() =>
      new Promise<RespValue>((resolve, reject) => this.#pending.push({ resolve, reject }))
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new RedisUnavailableError(`Redis did not answer within ${this.timeoutMs} ms`);
        this.#fail(error);
        reject(error);
      }, this.timeoutMs);
    });
    try {
      await Promise.race([this.#write(concat(commands.map(encodeCommand))), timeout]);
      return await Promise.race([Promise.all(replies), timeout]);
    } finally {
      clearTimeout(timer);
      // Keep rejections of replies that lost the race from surfacing as unhandled.
      for (const reply of replies) reply.catch(() => {});
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    try {
      let written = 0;
      while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
    } catch (error) {
      const failure = new RedisUnavailableError("Writing to Redis failed", { cause: error });
      this.#fail(failure);
      throw failure;
    }
  }

  async #read(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        this.#buffer = this.#buffer.length === 0
          ? chunk.slice(0, n)
          : concat([this.#buffer, chunk.subarray(0, n)]);
        let pos = 0;
        while (pos < this.#buffer.length) {
          const parsed = parseReply(this.#buffer, pos);
          if (parsed === INCOMPLETE) break;
          pos = parsed[1];
          this.#pending.shift()?.resolve(parsed[0]);
        }
        this.#buffer = this.#buffer.slice(pos);
      }
      this.#fail(new RedisUnavailableError("Redis closed the connection"));
    } catch (error) {
      this.#fail(
        error instanceof RedisUnavailableError
          ? error
          : new RedisUnavailableError("Reading from Redis failed", { cause: error }),
      );
    }
  }

  #fail(error: Error): void {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // Already closed by the peer.
      }
    }
    for (const pending of this.#pending.splice(0)) pending.reject(error);
  }

  /** Closes the socket and waits for the reader to finish. */
  async close(): Promise<void> {
    this.#fail(new RedisUnavailableError("Redis connection is closed"));
    await this.#readLoop;
  }
}

/** Options for {@linkcode RedisPool}. */
export interface RedisPoolOptions extends RedisConnectionOptions {
  /** Most connections open at once; further callers wait. Defaults to 16. */
  maxConnections?: number;
}

/** A bounded pool of {@linkcode RedisConnection}s; each lease is exclusive (safe for MULTI/EXEC). */
export class RedisPool {
  #idle: RedisConnection[] = [];
  #all = new Set<RedisConnection>();
  #opening = 0;
  #waiters: Array<(conn: RedisConnection | null) => void> = [];
  #closed = false;
  readonly port: number;
  readonly options: Required<Omit<RedisPoolOptions, "hostname">> & { hostname?: string };

  constructor(port: number, options: RedisPoolOptions = {}) {
    this.port = port;
    this.options = {
      hostname: options.hostname,
      timeoutMs: options.timeoutMs ?? 2000,
      maxConnections: options.maxConnections ?? 16,
    };
  }

  /** Sends commands on one leased connection, in one write, and returns one reply per command. */
  async send(commands: readonly (readonly RespArgument[])[]): Promise<RespValue[]> {
    const conn = await this.#acquire();
    try {
      return await conn.send(commands);
    } finally {
      this.#release(conn);
    }
  }

  async #acquire(): Promise<RedisConnection> {
    if (this.#closed) throw new RedisUnavailableError("Redis pool is closed");
    while (this.#idle.length > 0) {
      const conn = this.#idle.pop()!;
      if (!conn.closed) return conn;
      this.#forget(conn);
    }
    if (this.#all.size + this.#opening < this.options.maxConnections) {
      this.#opening++;
      try {
        const conn = await RedisConnection.open(this.port, this.options);
        this.#all.add(conn);
        return conn;
      } finally {
        this.#opening--;
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const leased = await new Promise<RedisConnection | null>((resolve) => {
      this.#waiters.push(resolve);
      timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== resolve);
        resolve(null);
      }, this.options.timeoutMs);
    });
    clearTimeout(timer);
    if (leased === null) {
      throw new RedisUnavailableError(
        `No Redis connection became free within ${this.options.timeoutMs} ms`,
      );
    }
    return leased.closed ? this.#acquire() : leased;
  }

  #release(conn: RedisConnection): void {
    if (conn.closed || this.#closed) {
      this.#forget(conn);
      // A waiter may now open a fresh connection in place of the broken one.
      this.#waiters.shift()?.(conn);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter(conn);
    else this.#idle.push(conn);
  }

  #forget(conn: RedisConnection): void {
    if (this.#all.delete(conn)) void conn.close();
  }

  /** Closes every connection; later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
    const all = [...this.#all];
    this.#all.clear();
    this.#idle = [];
    await Promise.all(all.map((conn) => conn.close()));
  }
}

/** Options for {@linkcode startRedis}. */
export interface StartRedisOptions {
  /** Milliseconds to wait for the server to answer PING; defaults to 5000. */
  startTimeoutMs?: number;
  /** Extra `redis-server` arguments, e.g. `["--maxmemory", "10mb"]`. */
  args?: string[];
  /** Path of the binary; defaults to `redis-server` on PATH. */
  binary?: string;
}

/** A running throwaway `redis-server`. */
export interface RedisService {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Shuts the server down cleanly (SIGTERM, SIGKILL after 2 s) and removes its directory. */
  stop(): Promise<void>;
  /** SIGKILLs the server, for "Redis died mid-test" cases, and removes its directory. */
  kill(): Promise<void>;
}

/** Running servers and their temp directories, cleaned up on unload and SIGINT. */
const children = new Map<Deno.ChildProcess, string>();
let signalHandlerInstalled = false;

function killAllChildren(): void {
  for (const [child, dir] of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Removed already, or never created.
    }
  }
}

function onInterrupt(): void {
  killAllChildren();
  Deno.exit(130);
}

function track(child: Deno.ChildProcess, dir: string): void {
  children.set(child, dir);
  if (!signalHandlerInstalled) {
    signalHandlerInstalled = true;
    globalThis.addEventListener("unload", killAllChildren);
    // An uncaught error skips "unload"; these listeners do not stop the error from ending the process.
    globalThis.addEventListener("error", killAllChildren);
    globalThis.addEventListener("unhandledrejection", killAllChildren);
    Deno.addSignalListener("SIGINT", onInterrupt);
  }
}

function untrack(child: Deno.ChildProcess): void {
  children.delete(child);
  if (children.size === 0 && signalHandlerInstalled) {
    // Removed again so test sanitizers see no leftover listener.
    signalHandlerInstalled = false;
    globalThis.removeEventListener("unload", killAllChildren);
    globalThis.removeEventListener("error", killAllChildren);
    globalThis.removeEventListener("unhandledrejection", killAllChildren);
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

async function readTail(path: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim().split("\n").slice(-5).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Starts `redis-server` on a free loopback port with no persistence and its own temp directory,
 * and resolves once it answers PING. The process is killed on unload and on SIGINT, so a failing
 * test leaves nothing behind.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * try {
 *   // use redis.port
 * } finally {
 *   await redis.stop();
 * }
 * ```
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisService> {
  const startTimeoutMs = options.startTimeoutMs ?? 5000;
  const dir = await Deno.makeTempDir({ prefix: "redis-test-" });
  const logFile = `${dir}/redis.log`;
  let lastError: Error | undefined;
  // The port can be taken between probing and binding; a fresh one is tried then.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    let child: Deno.ChildProcess;
    try {
      child = spawnRedis(options, port, dir, logFile);
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
    track(child, dir);
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      untrack(child);
      return s;
    });
    const deadline = Date.now() + startTimeoutMs;
    while (!exited && Date.now() < deadline) {
      if (await answersPing(port)) {
        return createService(port, child, status, dir);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (!exited) {
      child.kill("SIGKILL");
      await status;
      lastError = new Error(
        `redis-server on port ${port} did not answer PING within ${startTimeoutMs} ms: ${await readTail(
          logFile,
        )}`,
      );
      break;
    }
    const { code } = await status;
    lastError = new Error(
      `redis-server on port ${port} exited with code ${code}: ${await readTail(logFile)}`,
    );
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw lastError;
}

function spawnRedis(
  options: StartRedisOptions,
  port: number,
  dir: string,
  logFile: string,
): Deno.ChildProcess {
  return new Deno.Command(options.binary ?? "redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--logfile",
      logFile,
      "--daemonize",
      "no",
      ...(options.args ?? []),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function answersPing(port: number): Promise<boolean> {
  let conn: RedisConnection | undefined;
  try {
    conn = await RedisConnection.open(port, { timeoutMs: 500 });
    const [reply] = await conn.send([["PING"]]);
    return reply instanceof RespSimpleString && reply.value === "PONG";
  } catch {
    return false;
  } finally {
    await conn?.close();
  }
}

function createService(
  port: number,
  child: Deno.ChildProcess,
  status: Promise<Deno.CommandStatus>,
  dir: string,
): RedisService {
  let done: Promise<void> | undefined;
  async function finish(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    try {
      child.kill(signal);
    } catch {
      // Already exited.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const escalate = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Exited meanwhile.
        }
        resolve();
      }, 2000);
    });
    await Promise.race([status, escalate]);
    await status;
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => done ??= finish("SIGTERM"),
    kill: () => done ??= finish("SIGKILL"),
  };
}
