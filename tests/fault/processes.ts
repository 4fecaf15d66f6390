/**
 * Real processes the fault suite kills, pauses and restarts: sqld (a primary and replicas that
 * follow it), redis-server, and the shop itself. Each keeps its ports and data across restarts,
 * so the others reconnect to the same address, as they would to a restarted server in production.
 *
 * Every process is registered and SIGKILLed on `unload`, so a failing test leaves none behind;
 * `stop()` is the orderly way and removes the data.
 */
import { sqldBinaryPath } from "../services/sqld.ts";

const HOST = "127.0.0.1";
const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/** A process that can be killed, paused, resumed and started again on the same ports. */
export interface Restartable {
  readonly name: string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets but answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts it again (after `kill`), and waits until it answers. */
  restart(): Promise<void>;
  /** Stops it for good and removes its data. */
  stop(): Promise<void>;
}

const running = new Set<Deno.ChildProcess>();
let unloadInstalled = false;

function track(child: Deno.ChildProcess): void {
  running.add(child);
  child.status.then(() => running.delete(child));
  if (!unloadInstalled) {
    unloadInstalled = true;
    globalThis.addEventListener("unload", () => {
      for (const process of running) signal(process, "SIGKILL");
    });
  }
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // already exited
  }
}

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

async function waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** Runs `spawn` and keeps it restartable; `ready` says when a (re)started process answers. */
function restartable(
  name: string,
  spawn: () => Deno.ChildProcess,
  ready: () => Promise<boolean>,
  dataDir: string,
): Restartable & { start(): Promise<void> } {
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = spawn();
    track(child);
    const exited = child.status.then((status) => {
      throw new Error(`${name} exited with code ${status.code} while starting`);
    });
    exited.catch(() => {});
    await Promise.race([waitUntil(name, ready), exited]);
  };
  const kill = async () => {
    if (!child) return;
    signal(child, "SIGCONT");
    signal(child, "SIGKILL");
    await child.status;
  };
  return {
    name,
    start,
    kill,
    pause: () => child && signal(child, "SIGSTOP"),
    resume: () => child && signal(child, "SIGCONT"),
    restart: start,
    async stop() {
      if (child) {
        signal(child, "SIGCONT");
        signal(child, "SIGTERM");
        const timer = setTimeout(() => child && signal(child, "SIGKILL"), 1000);
        await child.status;
        clearTimeout(timer);
      }
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** One sqld; `httpUrl` for clients, `grpcUrl` (primary only) for replicas. */
export interface Sqld extends Restartable {
  httpUrl: string;
  grpcUrl?: string;
}

/** Starts sqld on fixed free ports: a primary (with gRPC) or a replica of `primaryGrpcUrl`. */
export async function startSqld(
  options: { name: string; primaryGrpcUrl?: string },
): Promise<Sqld> {
  const dataDir = await Deno.makeTempDir({ prefix: "fault-sqld-" });
  const httpPort = freePort();
  const grpcPort = options.primaryGrpcUrl ? undefined : freePort();
  const args = [
    "--db-path",
    `${dataDir}/data.sqld`,
    "--http-listen-addr",
    `${HOST}:${httpPort}`,
    "--no-welcome",
    "--disable-metrics",
  ];
  if (grpcPort !== undefined) args.push("--grpc-listen-addr", `${HOST}:${grpcPort}`);
  if (options.primaryGrpcUrl) args.push("--primary-grpc-url", options.primaryGrpcUrl);
  const httpUrl = `http://${HOST}:${httpPort}`;
  const binary = sqldBinaryPath();
  const process = restartable(
    options.name,
    () => new Deno.Command(binary, { args, stdin: "null", stdout: "null", stderr: "null" }).spawn(),
    () => answersSelect(httpUrl),
    dataDir,
  );
  await process.start();
  return {
    ...process,
    httpUrl,
    grpcUrl: grpcPort === undefined ? undefined : `http://${HOST}:${grpcPort}`,
  };
}

/** Ready means a query succeeds (a replica answers /health long before it can serve). */
async function answersSelect(httpUrl: string): Promise<boolean> {
  const response = await fetch(`${httpUrl}/v2/pipeline`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "close" }],
    }),
    signal: AbortSignal.timeout(1000),
  });
  return response.ok && (await response.text()).includes('"type":"ok"');
}

/** redis-server without persistence on a fixed free port (a restart starts it empty). */
export async function startRedisServer(): Promise<Restartable & { port: number }> {
  const dataDir = await Deno.makeTempDir({ prefix: "fault-redis-" });
  const port = freePort();
  const args = ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no"];
  args.push("--dir", dataDir, "--daemonize", "no");
  const process = restartable(
    "redis",
    () =>
      new Deno.Command("redis-server", { args, stdin: "null", stdout: "null", stderr: "null" })
        .spawn(),
    () => answersPing(port),
    dataDir,
  );
  await process.start();
  return { ...process, port };
}

async function answersPing(port: number): Promise<boolean> {
  const conn = await Deno.connect({ hostname: HOST, port });
  try {
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(16);
    const read = await conn.read(buffer);
    return read !== null && new TextDecoder().decode(buffer.subarray(0, read)).startsWith("+PONG");
  } finally {
    conn.close();
  }
}

/** The shop as a subprocess (`main.ts`), its JSON log lines collected from stderr. */
export interface ShopProcess {
  url: string;
  pid: number;
  /** Parsed log lines so far. */
  readonly logs: Record<string, unknown>[];
  /** Sends `signal` (SIGTERM for a graceful stop). */
  signal(name: Deno.Signal): void;
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
  /** SIGTERM (SIGKILL after 15 s), wait, remove the data dir. */
  stop(): Promise<void>;
}

/** Starts the shop with `env` on a fresh data dir and waits for `/healthz`. */
export async function startShopProcess(env: Record<string, string>): Promise<ShopProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: "fault-shop-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "--allow-all", "main.ts"],
    cwd: ROOT,
    env: { PORT: String(port), HOSTNAME: HOST, DATA_DIR: dataDir, LOG_LEVEL: "warn", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  track(child);
  const logs: Record<string, unknown>[] = [];
  const collected = collectLines(child.stderr, (line) => {
    try {
      logs.push(JSON.parse(line));
    } catch {
      logs.push({ level: "raw", msg: line });
    }
  });
  const status = child.status.then(async (s) => {
    await collected.catch(() => {});
    return s;
  });
  const url = `http://${HOST}:${port}`;
  const stop = async () => {
    signal(child, "SIGTERM");
    const timer = setTimeout(() => signal(child, "SIGKILL"), 15_000);
    await status;
    clearTimeout(timer);
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    const exited = status.then((s) => {
      throw new Error(`the shop exited with code ${s.code}: ${JSON.stringify(logs.slice(-3))}`);
    });
    exited.catch(() => {});
    await Promise.race([
      waitUntil("the shop", async () => {
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        await response.body?.cancel();
        return response.ok;
      }, 60_000),
      exited,
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: child.pid, logs, signal: (name) => signal(child, name), status, stop };
}

async function collectLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(line);
  }
  if (pending.trim()) onLine(pending);
}
