/**
 * A launcher for a throwaway `redis-server` on a free loopback port, for tests and local
 * development. Talking to it is node-redis' job (`@redis/client`); see the Upstash gateway.
 *
 * @module
 */

import { createClient } from "@redis/client";

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
  /** SIGSTOPs the server: connections stay open but nothing answers ("Redis hangs" cases). */
  pause(): void;
  /** SIGCONTs a paused server; it answers what it was sent meanwhile. */
  resume(): void;
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
  const client = createClient({
    socket: { host: "127.0.0.1", port, connectTimeout: 500, reconnectStrategy: false },
    disableClientInfo: true,
  });
  client.on("error", () => {}); // "not up yet" is the expected answer while it starts
  try {
    await client.connect();
    return await client.ping() === "PONG";
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

function createService(
  port: number,
  child: Deno.ChildProcess,
  status: Promise<Deno.CommandStatus>,
  dir: string,
): RedisService {
  let done: Promise<void> | undefined;
  function signal(name: Deno.Signal): void {
    try {
      child.kill(name);
    } catch {
      // Already exited.
    }
  }
  async function finish(name: "SIGTERM" | "SIGKILL"): Promise<void> {
    signal(name);
    // A stopped process acts on SIGTERM only once continued.
    signal("SIGCONT");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const escalate = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        signal("SIGKILL");
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
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
  };
}
