/**
 * A local stand-in for Upstash's Redis REST API in front of a real `redis-server`, close enough
 * on the wire that the official `@upstash/redis` client (and `@upstash/ratelimit`) use it
 * unchanged. For tests and local development only.
 *
 * Wire format, as the client reads it:
 * - `POST /` with `["SET","k","v"]` → `{"result": ...}`; a Redis error → 400 `{"error": "..."}`.
 * - `POST /pipeline` with `[[...],[...]]` → 200 and one `{"result"}` or `{"error"}` per command.
 * - `POST /multi-exec` → the same shape, run as MULTI/EXEC on one connection; errors raised
 *   while executing stay per entry, a command Redis refuses to queue fails the whole request
 *   with 400 (nothing ran).
 * - `GET|POST /cmd/arg/...` path commands; a POST body there is appended as the last argument.
 * - `Upstash-Encoding: base64`: every string in a result is base64 of its raw bytes, except a
 *   top-level `OK` status; integers and nulls stay as they are; arrays are encoded element-wise.
 * - `Authorization: Bearer <token>` (or `?_token=`) on every route; otherwise 401.
 * - Redis unreachable or too slow → 503 `{"error": "..."}` within the command timeout.
 * - Values are bytes: a bulk string that is not UTF-8 reaches a base64 client unchanged.
 * - Lua shebang flags only Upstash knows (`#!lua flags=allow-key-locking`, used by
 *   `@upstash/ratelimit`) are dropped before the script reaches Redis; EVALSHA, SCRIPT LOAD and
 *   SCRIPT EXISTS keep speaking in the SHA-1 of the script as the client sent it.
 *
 * Redis is reached through node-redis (`@redis/client`) on one auto-pipelining connection; the
 * gateway only translates between the REST shapes and RESP2 replies. Blocking commands (BLPOP and
 * the like) would hold that connection for everyone: Upstash's REST API has no use for them.
 *
 * Run standalone for local development: `deno run -A tests/services/upstash_gateway.ts`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createClient, ErrorReply, RESP_TYPES } from "@redis/client";
import { withTimeout } from "../../edge/platform/timeout.ts";
import { startRedis } from "./redis.ts";

/** Options for {@linkcode createUpstashGatewayHandler}. */
export interface UpstashGatewayHandlerOptions {
  /** Port of the `redis-server` on 127.0.0.1. */
  redisPort: number;
  /** The bearer token clients must send. */
  token: string;
  /** Upper bound for each Redis round trip, in milliseconds; defaults to 2000. */
  commandTimeoutMs?: number;
}

/** A fetch-style handler that can be mounted (e.g. `app.mount("/upstash", handler)`), plus `close()` for its Redis connection. */
export interface UpstashGatewayHandler {
  (request: Request): Promise<Response>;
  /** Closes the Redis connection; later requests answer 503. */
  close(): Promise<void>;
}

/** Options for {@linkcode startUpstashGateway}. */
export interface StartUpstashGatewayOptions extends UpstashGatewayHandlerOptions {
  /** Port to listen on; defaults to 0 (a free one). */
  port?: number;
}

/** A running gateway. */
export interface UpstashGateway {
  /** `http://127.0.0.1:<port>`, the value for `UPSTASH_REDIS_REST_URL`. */
  url: string;
  /** The value for `UPSTASH_REDIS_REST_TOKEN`. */
  token: string;
  /** Stops serving and closes the Redis connections. */
  stop(): Promise<void>;
}

type Command = string[];

/**
 * A RESP2 reply as node-redis decodes it here: a simple string (`+OK`) as a string, a bulk
 * string as its raw bytes, an integer, nil, an array, or an error reply (nested in an array, or
 * one command's answer in a pipeline).
 */
type Reply = string | Uint8Array | number | null | ErrorReply | Reply[];

/** Bulk strings as bytes (binary-safe); simple strings stay strings, so `+OK` stays apart. */
const BINARY_SAFE = { [RESP_TYPES.BLOB_STRING]: Buffer };

/** Redis could not be reached, the connection broke, or a call timed out. */
class RedisUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}

/** A request that Upstash would reject with 400 before running anything. */
class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadRequestError";
  }
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();
const JSON_HEADERS = { "content-type": "application/json" };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Shebang flags Upstash accepts but open-source Redis rejects ("Unexpected flag in script shebang"). */
const UPSTASH_ONLY_SCRIPT_FLAGS = new Set(["allow-key-locking"]);

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", textEncoder.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Returns the script without Upstash-only shebang flags, or `undefined` if it needs no change. */
function stripUpstashScriptFlags(script: string): string | undefined {
  const match = /^#!lua([^\n]*)/.exec(script);
  if (!match) return undefined;
  const shebang = match[1].replace(/flags=(\S*)/, (_, flags: string) => {
    const kept = flags.split(",").filter((flag) => !UPSTASH_ONLY_SCRIPT_FLAGS.has(flag));
    return `flags=${kept.join(",")}`;
  });
  return shebang === match[1] ? undefined : `#!lua${shebang}${script.slice(match[0].length)}`;
}

/**
 * Rewrites scripts that carry Upstash-only flags and remembers which SHA-1 the client knows
 * them by, so EVALSHA with the client's hash finds the rewritten script in Redis.
 */
class ScriptAdapter {
  /** client-side SHA-1 → SHA-1 of the script Redis actually holds */
  #toRedis = new Map<string, string>();
  #toClient = new Map<string, string>();

  async #rewrite(script: string): Promise<string> {
    const stripped = stripUpstashScriptFlags(script);
    if (stripped === undefined) return script;
    const [original, rewritten] = await Promise.all([sha1Hex(script), sha1Hex(stripped)]);
    this.#toRedis.set(original, rewritten);
    this.#toClient.set(rewritten, original);
    return stripped;
  }

  #redisSha(sha: string): string {
    return this.#toRedis.get(sha.toLowerCase()) ?? sha;
  }

  /** Adapts one command before it is sent. */
  async command(command: Command): Promise<Command> {
    const name = command[0].toUpperCase();
    if ((name === "EVAL" || name === "EVAL_RO") && command.length > 1) {
      return [command[0], await this.#rewrite(command[1]), ...command.slice(2)];
    }
    if ((name === "EVALSHA" || name === "EVALSHA_RO") && command.length > 1) {
      return [command[0], this.#redisSha(command[1]), ...command.slice(2)];
    }
    if (name === "SCRIPT" && command.length > 2) {
      const sub = command[1].toUpperCase();
      if (sub === "LOAD") return [command[0], command[1], await this.#rewrite(command[2])];
      if (sub === "EXISTS") {
        return [command[0], command[1], ...command.slice(2).map((sha) => this.#redisSha(sha))];
      }
    }
    return command;
  }

  /** Maps a SCRIPT LOAD reply back to the hash of the script the client sent. */
  reply(command: Command, reply: Reply): Reply {
    if (
      command[0].toUpperCase() === "SCRIPT" && command[1]?.toUpperCase() === "LOAD" &&
      reply instanceof Uint8Array
    ) {
      const sha = textDecoder.decode(reply);
      const original = this.#toClient.get(sha);
      return original === undefined ? reply : textEncoder.encode(original);
    }
    return reply;
  }
}

/** Turns a reply into its JSON form; `base64` mirrors Upstash's `Upstash-Encoding: base64`. */
function encodeValue(value: Reply, base64: boolean, topLevel: boolean): unknown {
  if (value === null || typeof value === "number") return value;
  if (value instanceof Uint8Array) return base64 ? bytesToBase64(value) : textDecoder.decode(value);
  if (typeof value === "string") {
    // A simple string. The client leaves a top-level "OK" alone but base64-decodes every other string.
    if (!base64 || (topLevel && value === "OK")) return value;
    return bytesToBase64(textEncoder.encode(value));
  }
  if (value instanceof ErrorReply) {
    // Only reachable nested in an array (e.g. a Lua table); Upstash flattens it to its message.
    return base64 ? bytesToBase64(textEncoder.encode(value.message)) : value.message;
  }
  return value.map((item) => encodeValue(item, base64, false));
}

function toEntry(value: Reply, base64: boolean): { result: unknown } | { error: string } {
  return value instanceof ErrorReply
    ? { error: value.message }
    : { result: encodeValue(value, base64, true) };
}

function parseCommand(raw: unknown): Command {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new BadRequestError("ERR command must be a non-empty JSON array");
  }
  return raw.map((arg) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new BadRequestError(`ERR unsupported argument type in command: ${JSON.stringify(arg)}`);
  });
}

function parseCommandList(raw: unknown): Command[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new BadRequestError("ERR body must be a non-empty JSON array of commands");
  }
  return raw.map(parseCommand);
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new BadRequestError("ERR request body is not valid JSON");
  }
}

function timingSafeEqual(a: string, b: string): boolean {
  const x = textEncoder.encode(a);
  const y = textEncoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function isAuthorized(request: Request, url: URL, token: string): boolean {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  const given = match?.[1] ?? url.searchParams.get("_token");
  return given !== null && timingSafeEqual(given, token);
}

/** One node-redis connection, opened on first use; see {@linkcode openRedisLink}. */
interface RedisLink {
  /**
   * Sends the commands back to back and resolves one reply each (error replies included).
   * Rejects with {@linkcode RedisUnavailableError} when Redis is down or slower than the timeout.
   */
  send(commands: Command[], options?: { transaction?: boolean }): Promise<Reply[]>;
  close(): void;
}

/** Connects lazily to `redis-server` on 127.0.0.1:`port`; every `send` is bounded by `timeoutMs`. */
function openRedisLink(port: number, timeoutMs: number): RedisLink {
  const client = createClient({
    RESP: 2, // what Upstash's REST API speaks
    socket: {
      host: "127.0.0.1",
      port,
      connectTimeout: timeoutMs,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
    },
    // While disconnected, fail at once (a 503) instead of queueing behind a dead server.
    disableOfflineQueue: true,
    disableClientInfo: true,
    commandOptions: { typeMapping: BINARY_SAFE },
  });
  // A broken connection surfaces as 503s on the requests that meet it; node-redis reconnects.
  client.on("error", () => {});
  let connecting: Promise<unknown> | undefined;
  let closed = false;

  async function exchange(commands: Command[], transaction: boolean): Promise<Reply[]> {
    if (closed) throw new RedisUnavailableError("The gateway is closed");
    connecting ??= client.connect().catch((error) => {
      connecting = undefined;
      throw error;
    });
    await connecting;
    // Enqueued in one synchronous run, so node-redis writes them back to back and nothing else
    // lands between MULTI and EXEC; the chain id keeps a transaction whole across a reconnect.
    // (client.multi() would decode EXEC's replies as text: its type mapping skips EXEC.)
    const options = {
      typeMapping: BINARY_SAFE,
      chainId: transaction ? Symbol("multi") : undefined,
    };
    const outcomes = await Promise.allSettled(
      commands.map((command) => client.sendCommand(command, options)),
    );
    return outcomes.map((outcome) => {
      // node-redis types replies for RESP3 too; over RESP2 only these shapes arrive.
      if (outcome.status === "fulfilled") return outcome.value as unknown as Reply;
      if (outcome.reason instanceof ErrorReply) return outcome.reason;
      throw outcome.reason;
    });
  }

  return {
    async send(commands, options = {}) {
      try {
        return await withTimeout(
          exchange(commands, options.transaction ?? false),
          timeoutMs,
          "Redis",
        );
      } catch (error) {
        if (error instanceof RedisUnavailableError) throw error;
        // A timeout, or node-redis' own (the client is offline, the socket closed).
        const message = error instanceof Error ? error.message : String(error);
        throw new RedisUnavailableError(message, { cause: error });
      }
    },
    close() {
      closed = true;
      if (client.isOpen) client.destroy();
    },
  };
}

/**
 * Builds the gateway's request handler. It opens its Redis connection lazily, so creating it has
 * no side effects; call `close()` when done.
 *
 * @example
 * ```ts
 * const handler = createUpstashGatewayHandler({ redisPort: redis.port, token: "t" });
 * const server = Deno.serve({ port: 0, hostname: "127.0.0.1" }, handler);
 * ```
 */
export function createUpstashGatewayHandler(
  options: UpstashGatewayHandlerOptions,
): UpstashGatewayHandler {
  if (!options.token) throw new TypeError("Upstash gateway token must not be empty");
  const redis = openRedisLink(options.redisPort, options.commandTimeoutMs ?? 2000);
  const scripts = new ScriptAdapter();

  async function send(commands: Command[], wrap?: [Command, Command]): Promise<Reply[]> {
    const adapted = await Promise.all(commands.map((command) => scripts.command(command)));
    const replies = wrap
      ? await redis.send([wrap[0], ...adapted, wrap[1]], { transaction: true })
      : await redis.send(adapted);
    const offset = wrap ? 1 : 0;
    return replies.map((reply, i) => {
      const command = commands[i - offset];
      return command ? scripts.reply(command, reply) : reply;
    });
  }

  async function runSingle(command: Command, base64: boolean): Promise<Response> {
    const [reply] = await send([command]);
    const entry = toEntry(reply, base64);
    return json(entry, "error" in entry ? 400 : 200);
  }

  async function runPipeline(commands: Command[], base64: boolean): Promise<Response> {
    const replies = await send(commands);
    return json(replies.map((reply) => toEntry(reply, base64)));
  }

  async function runTransaction(commands: Command[], base64: boolean): Promise<Response> {
    const replies = await send(commands, [["MULTI"], ["EXEC"]]);
    const queued = replies.slice(1, -1);
    const refused = queued.find((reply) => reply instanceof ErrorReply);
    if (refused instanceof ErrorReply) return json({ error: refused.message }, 400);
    const exec = replies[replies.length - 1];
    if (exec instanceof ErrorReply) return json({ error: exec.message }, 400);
    if (!Array.isArray(exec)) return json({ error: "ERR transaction was aborted" }, 400);
    return json(exec.map((reply, i) => toEntry(scripts.reply(commands[i], reply), base64)));
  }

  async function pathCommand(request: Request, url: URL): Promise<Command> {
    const parts = url.pathname.split("/").filter((part) => part !== "").map(decodeURIComponent);
    if (request.method === "POST" || request.method === "PUT") {
      const body = await request.text();
      if (body !== "") parts.push(body);
      // Arguments after a body value travel as query parameters (`?EX=100`).
      for (const [key, value] of url.searchParams) {
        if (key === "_token") continue;
        parts.push(key);
        if (value !== "") parts.push(value);
      }
    }
    return parts;
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!["GET", "HEAD", "POST", "PUT"].includes(request.method)) {
      return json({ error: "Method not allowed" }, 405);
    }
    if (!isAuthorized(request, url, options.token)) return json({ error: "Unauthorized" }, 401);
    const base64 = request.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    try {
      const path = url.pathname.replace(/\/+$/, "");
      if (path === "" && request.method === "POST") {
        return await runSingle(parseCommand(await readJson(request)), base64);
      }
      if (path === "/pipeline" && request.method === "POST") {
        return await runPipeline(parseCommandList(await readJson(request)), base64);
      }
      if (path === "/multi-exec" && request.method === "POST") {
        return await runTransaction(parseCommandList(await readJson(request)), base64);
      }
      if (path === "") return json({ error: "ERR command is missing" }, 400);
      return await runSingle(await pathCommand(request, url), base64);
    } catch (error) {
      if (error instanceof BadRequestError) return json({ error: error.message }, 400);
      if (error instanceof RedisUnavailableError) {
        return json({ error: `Redis is unavailable: ${error.message}` }, 503);
      }
      throw error;
    }
  }

  return Object.assign(handle, { close: () => Promise.resolve(redis.close()) });
}

/**
 * Serves the gateway with `Deno.serve` on 127.0.0.1 (port 0 unless given).
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * const gateway = await startUpstashGateway({ redisPort: redis.port, token: "test-token" });
 * const client = new Redis({ url: gateway.url, token: gateway.token });
 * ```
 */
export function startUpstashGateway(options: StartUpstashGatewayOptions): Promise<UpstashGateway> {
  const handler = createUpstashGatewayHandler(options);
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: options.port ?? 0,
      onListen: ({ port }) =>
        resolve({
          url: `http://127.0.0.1:${port}`,
          token: options.token,
          stop: async () => {
            await server.shutdown();
            await handler.close();
          },
        }),
      onError: (error) => {
        console.error("Upstash gateway failed to handle a request:", error);
        return json({ error: "Internal gateway error" }, 500);
      },
    }, handler);
  });
}

if (import.meta.main) {
  const redis = await startRedis();
  const token = crypto.randomUUID().replaceAll("-", "");
  const gateway = await startUpstashGateway({ redisPort: redis.port, token });
  console.log(`UPSTASH_REDIS_REST_URL=${gateway.url}`);
  console.log(`UPSTASH_REDIS_REST_TOKEN=${gateway.token}`);
  const shutdown = async () => {
    await gateway.stop();
    await redis.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", shutdown);
  // startRedis' own SIGINT listener kills redis-server and exits if Ctrl-C comes first.
}
