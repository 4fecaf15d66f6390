/**
 * An edge deployment on one machine, for tests and benchmarks: the backing services Deno
 * Deploy would reach over the network (a sqld primary with a replica, Redis behind the Upstash
 * gateway), migrated and seeded as a deploy would be, and the shop started as a subprocess with
 * the edge's permission flags and nothing but environment variables.
 *
 * @example
 * ```ts
 * const stack = await startEdgeStack();
 * const shop = await startShopProcess({ args: ["run", ...EDGE_FLAGS, "main.ts"], env: stack.env });
 * try {
 *   await fetch(`${shop.url}/`);
 * } finally {
 *   await shop.stop();
 *   await stack.stop();
 * }
 * ```
 */
import { openDatabase } from "../../db/client.ts";
import { migrateDatabase } from "../../db/migrate.ts";
import { isCatalogEmpty, seedCatalog } from "../../db/seed.ts";
import { generateSigningKey } from "../../edge/auth/tokens.ts";
import { readLines } from "../tools/lines.ts";
import { startRedis } from "./redis.ts";
import { startSqldCluster } from "./sqld.ts";
import { startUpstashGateway } from "./upstash_gateway.ts";

/** Exactly the permissions an edge isolate has (Deno Deploy's rules), plus KV. */
export const EDGE_FLAGS = ["--allow-net", "--allow-env", "--allow-read", "--unstable-kv"];

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

export interface EdgeStack {
  /** The environment of an edge deployment over these services (no DATA_DIR, no KV_PATH). */
  env: Record<string, string>;
  primaryUrl: string;
  replicaUrl: string;
  /** Stops Redis, the gateway and sqld, also after a failed start. Idempotent. */
  stop(): Promise<void>;
}

export interface EdgeStackOptions {
  /** Products seeded into the primary; 200 by default. */
  productCount?: number;
  /** Leave the database empty: no migration, no seed (for tests of what the shop does itself). */
  empty?: boolean;
}

/** Starts sqld (primary + one replica), Redis and the gateway; migrates and seeds the primary. */
export async function startEdgeStack(options: EdgeStackOptions = {}): Promise<EdgeStack> {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    const cluster = await startSqldCluster({ replicas: 1 });
    stops.push(() => cluster.stop());
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const token = crypto.randomUUID();
    const gateway = await startUpstashGateway({ redisPort: redis.port, token });
    stops.push(() => gateway.stop());
    const primaryUrl = cluster.primary.httpUrl;
    const replicaUrl = cluster.replicas[0].httpUrl;
    if (!options.empty) await prepareDatabase(primaryUrl, replicaUrl, options.productCount ?? 200);
    const env = {
      RUNTIME_MODE: "edge",
      DATABASE_URL: primaryUrl,
      DATABASE_READ_URL: replicaUrl,
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: token,
      AUTH_SIGNING_KEYS: JSON.stringify([await generateSigningKey()]),
      SHOP_SECRET: crypto.randomUUID() + crypto.randomUUID(),
      REGION: "edge-test",
      // The 50 ms default budget is for a nearby Upstash; on a machine shared with other test
      // runs a gateway call can take longer, and a skipped Redis call would make a limit or a
      // lease local to one worker, which is not what these tests are about.
      REDIS_TIMEOUT_MS: "2000",
    };
    return { env, primaryUrl, replicaUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * What a deploy does before the edge starts (`deno task db:migrate`, `db:seed`), then waits
 * until the replica has the catalog, since the edge reads from it.
 */
async function prepareDatabase(primaryUrl: string, replicaUrl: string, productCount: number) {
  const settings = { syncIntervalSeconds: 1, timeoutMs: 10_000, replicaTimeoutMs: 5_000 };
  const primary = openDatabase({ url: primaryUrl, ...settings });
  const replica = openDatabase({ url: replicaUrl, ...settings });
  try {
    await migrateDatabase(primary.writer);
    await seedCatalog(primary.writer, { productCount });
    const deadline = Date.now() + 30_000;
    while (await isCatalogEmpty(replica.writer)) {
      if (Date.now() > deadline) throw new Error("The replica did not receive the catalog in 30 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    primary.close();
    replica.close();
  }
}

/** A shop subprocess and the JSON log lines it has written so far. */
export interface ShopProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Parsed JSON log lines from stderr, in order (non-JSON lines are kept under `line`). */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the first log line matching `predicate` (already written or still to come). */
  waitForLog(
    predicate: (entry: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  status: Promise<Deno.CommandStatus>;
  /** SIGTERM, SIGKILL after `graceMs`; removes the private DENO_DIR. Idempotent. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

export interface StartShopProcessOptions {
  /** Deno's arguments, e.g. `["run", ...EDGE_FLAGS, "main.ts"]`. */
  args: string[];
  /** The whole environment of the child: nothing is inherited. */
  env: Record<string, string>;
  /** The port the shop listens on; the caller puts it into `env` or `args` as the entry needs. */
  port: number;
  /** How long until the shop answers /healthz. */
  readyTimeoutMs?: number;
}

/**
 * Starts a shop with a cleared environment and a private DENO_DIR (whose `location_data`
 * holds the KV that `Deno.openKv()` opens without a path: the test's stand-in for the
 * platform KV, fresh per process tree), and resolves once /healthz answers.
 */
export async function startShopProcess(options: StartShopProcessOptions): Promise<ShopProcess> {
  const denoDir = await Deno.makeTempDir({ prefix: "edge-deno-dir-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: options.args,
    cwd: ROOT,
    clearEnv: true,
    env: { DENO_DIR: denoDir, NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const logs: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const line of readLines(stream)) {
      // deno serve prefixes worker output with "[serve-worker-N ] ".
      const text = line.replace(/^\[serve-worker-\d+\s*\]\s*/, "");
      try {
        logs.push(JSON.parse(text));
      } catch {
        logs.push({ line });
      }
      for (const wake of waiters) wake();
    }
  };
  const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let exited = false;
  const status = child.status.then(async (s) => {
    exited = true;
    await drained;
    for (const wake of waiters) wake();
    return s;
  });

  function waitForLog(predicate: (entry: Record<string, unknown>) => boolean, timeoutMs = 60_000) {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (found) finish(() => resolve(found));
        else if (exited) finish(() => reject(new Error(`The shop exited; logs:\n${dump()}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`No such log line in ${timeoutMs} ms:\n${dump()}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });
  }
  const dump = () => logs.slice(-30).map((entry) => JSON.stringify(entry)).join("\n");

  let stopping: Promise<Deno.CommandStatus> | undefined;
  const stop = (graceMs = 5_000) => {
    stopping ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* already gone */ }
        }, graceMs);
        await status;
        clearTimeout(timer);
      }
      await Deno.remove(denoDir, { recursive: true }).catch(() => {});
      return await status;
    })();
    return stopping;
  };

  const url = `http://127.0.0.1:${options.port}`;
  try {
    await Promise.race([
      waitUntilHealthy(url, options.readyTimeoutMs ?? 60_000),
      status.then(() => {
        throw new Error(`The shop exited before answering; logs:\n${dump()}`);
      }),
    ]);
  } catch (error) {
    await stop(500);
    throw error;
  }
  return { url, logs, waitForLog, status, stop };
}

async function waitUntilHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/healthz`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`"${url}/healthz" did not answer within ${timeoutMs} ms`);
}

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
